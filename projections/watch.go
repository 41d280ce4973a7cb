package projections

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// Touch is what one event changes in the read model, for live views (WatchThreads,
// WatchMessages): the rows a watcher must read again after the event is applied.
type Touch struct {
	// Threads whose row may have changed (and with it the views that hold them).
	Threads []string
	// Prospect, when set: every thread of this prospect changed (the prospect shown in them).
	Prospect string
	// Message whose row changed (new, reply status, edit, deletion).
	Message string
	// MessageThread is the thread of Message.
	MessageThread string
}

// Touches says what Apply changes for e; it is written beside Apply and must follow it.
// Events no view shows (team configuration, keys, account health) touch nothing. A deleted
// tag is not followed: the threads that showed it are found again at their next change.
func Touches(e domain.Event) Touch {
	switch p := e.Payload.(type) {
	case domain.MessageReceived:
		return Touch{Threads: withAnswered(p.ThreadID, p.Decision), Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.MessageSendRequested:
		return Touch{Threads: withAnswered(p.ThreadID, p.Decision), Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.MessageSent:
		return Touch{Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.MessageSendFailed:
		return Touch{Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.MessageSendRetried:
		return Touch{Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.MessageSendCancelled:
		return Touch{Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.MessageDeliveryUpdated:
		return Touch{Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.MessageEdited: // the thread's preview, when it is its last message
		return Touch{Threads: []string{p.ThreadID}, Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.MessageDeleted:
		return Touch{Threads: []string{p.ThreadID}, Message: p.MessageID, MessageThread: p.ThreadID}
	case domain.ThreadRead:
		return Touch{Threads: []string{p.ThreadID}}
	case domain.ThreadAssigned:
		return Touch{Threads: withAnswered(p.ThreadID, p.Decision)}
	case domain.ThreadUnassigned:
		return Touch{Threads: []string{p.ThreadID}}
	case domain.ThreadDone:
		return Touch{Threads: withAnswered(p.ThreadID, p.Decision)}
	case domain.ThreadReopened:
		return Touch{Threads: []string{p.ThreadID}}
	case domain.ProspectProfileUpdated:
		return Touch{Prospect: p.ProspectID}
	case domain.ProspectTagged:
		return Touch{Prospect: p.ProspectID}
	case domain.ProspectUntagged:
		return Touch{Prospect: p.ProspectID}
	case domain.ProspectStatusChanged:
		return Touch{Prospect: p.ProspectID}
	case domain.ProspectContextUpdated:
		return Touch{Prospect: p.ProspectID}
	}
	return Touch{}
}

// TouchTypes are the event types Touches follows: a watcher reads only those from the log.
var TouchTypes = []string{
	domain.TypeMessageReceived, domain.TypeMessageSendRequested, domain.TypeMessageSent,
	domain.TypeMessageSendFailed, domain.TypeMessageSendRetried, domain.TypeMessageSendCancelled,
	domain.TypeMessageDeliveryUpdated, domain.TypeMessageEdited, domain.TypeMessageDeleted,
	domain.TypeThreadRead, domain.TypeThreadAssigned, domain.TypeThreadUnassigned,
	domain.TypeThreadDone, domain.TypeThreadReopened, domain.TypeProspectProfileUpdated,
	domain.TypeProspectTagged, domain.TypeProspectUntagged, domain.TypeProspectStatusChanged,
	domain.TypeProspectContextUpdated,
}

// withAnswered is the thread an event acts on and the requests it answered (other threads of
// the prospect that leave VIEW_REQUESTS). An event of the first release (undecided) may have
// answered any request of the prospect: those are not listed, and follow at their next change.
func withAnswered(thread string, d domain.Decision) []string {
	out := []string{thread}
	for _, id := range d.AnsweredRequests {
		if id != thread {
			out = append(out, id)
		}
	}
	return out
}

// ThreadsInView returns which of the given threads q's view and filters hold now (q.IDs and
// q.Limit are set from ids), with their prospects: what a watcher sends as upserts; the others
// are not (or no longer) in the view.
func ThreadsInView(ctx context.Context, r ThreadReader, q ThreadQuery, ids []string) ([]Thread, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q.IDs, q.After, q.Limit = ids, nil, len(ids)
	threads, err := r.Threads(ctx, q)
	if err != nil {
		return nil, domain.Unavailable("the read model", err)
	}
	return threads, nil
}

// ThreadsOfProspect lists every thread of a prospect (at most 500), whatever its view.
func ThreadsOfProspect(ctx context.Context, r ThreadReader, teamID, prospectID string) ([]Thread, error) {
	threads, err := r.Threads(ctx, ThreadQuery{TeamID: teamID, View: ViewAll, ProspectID: prospectID, Limit: 500})
	if err != nil {
		return nil, domain.Unavailable("the read model", err)
	}
	return threads, nil
}
