package projections

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// ReadModelProjection is the read model's projection version: its consumer group and the name
// of its checkpoint. Change it when a change of Apply needs the whole log applied again: at
// start, a read model of the previous version keeps serving while the new version is built
// beside it from the whole log, then swapped in (server/rebuild.go).
const ReadModelProjection = "readmodel.v1"

// Projector applies the log to the read model. Each batch of events and the checkpoint that
// follows it are committed in one store transaction, so a crash between the two cannot apply an
// event twice: events at or before the checkpoint are skipped on redelivery.
type Projector struct {
	store  Store
	log    eventlog.Log
	logger *slog.Logger
	// group is the log's consumer group (ReadModelProjection unless a rebuild sets another);
	// version names the store's checkpoint: ReadModelProjection, unless the store was built
	// by another version of the code and serves until the new version is built beside it.
	group   string
	version atomic.Pointer[string]

	progress *eventlog.Progress
}

// NewProjector returns a projector of log into store.
func NewProjector(log eventlog.Log, store Store, logger *slog.Logger) *Projector {
	p := &Projector{store: store, log: log, logger: logger, progress: eventlog.NewProgress(), group: ReadModelProjection}
	v := ReadModelProjection
	p.version.Store(&v)
	return p
}

// ServeVersion makes the projector follow a store built by projection version v (its
// checkpoint and its consumer group): the read model of an older version serves, kept up to
// date, while the current version is built beside it. It applies from the projector's next
// Run.
func (p *Projector) ServeVersion(v string) {
	p.version.Store(&v)
}

// consumerGroup is the group of WithGroup, or else the version's.
func (p *Projector) consumerGroup() string {
	if p.group != ReadModelProjection {
		return p.group
	}
	return p.Version()
}

// Version is the projection version whose checkpoint the projector follows.
func (p *Projector) Version() string { return *p.version.Load() }

// VersionLister is a store that lists the projection versions it holds a checkpoint of.
type VersionLister interface {
	Versions(ctx context.Context) ([]string, error)
}

// ServedVersion returns the read model version a store was built by: ReadModelProjection
// when it holds that checkpoint or no checkpoint at all (a new store), else the other
// readmodel.* version it holds.
func ServedVersion(ctx context.Context, s Store) (string, error) {
	l, ok := s.(VersionLister)
	if !ok {
		return ReadModelProjection, nil
	}
	vs, err := l.Versions(ctx)
	if err != nil {
		return "", err
	}
	other := ""
	for _, v := range vs {
		if v == ReadModelProjection {
			return v, nil
		}
		if strings.HasPrefix(v, "readmodel.") {
			other = v
		}
	}
	if other == "" {
		return ReadModelProjection, nil
	}
	return other, nil
}

// WithGroup makes the projector consume the log as another consumer group, so a new version
// of the read model can be built beside the serving one without moving the serving
// projector's position. It returns p.
func (p *Projector) WithGroup(group string) *Projector {
	p.group = group
	return p
}

// Run consumes the log until ctx is done. It resumes from the read model's own checkpoint,
// not the log's: a deleted or reset read model is rebuilt from the beginning of the log.
func (p *Projector) Run(ctx context.Context) error {
	cp, err := p.store.Checkpoint(ctx, p.Version())
	if err != nil {
		return err
	}
	group := p.consumerGroup()
	if err := p.log.SetCheckpoint(ctx, group, cp); err != nil {
		// Kafka refuses while other members of the group consume: they are applying the log
		// to this same store, so the group's own offsets are right. Handle still skips what
		// the store already holds.
		p.logger.Warn("read model projector: group checkpoint not moved; resuming from the group's", "err", err)
	}
	return p.log.Consume(ctx, group, p.Handle)
}

// Handle applies a batch of records; it is the consumer group's handler.
func (p *Projector) Handle(ctx context.Context, records []eventlog.Record) error {
	var cp eventlog.Cursor
	version := p.Version()
	err := p.store.Update(ctx, func(tx Tx) error {
		var err error
		cp, err = tx.Checkpoint(version)
		if err != nil {
			return err
		}
		if pf, ok := tx.(Prefetcher); ok {
			var events []domain.Event
			for _, r := range records {
				if cp.After(r.Position) {
					events = append(events, r.Event)
				}
			}
			if err := pf.Prefetch(PrefetchOf(events)); err != nil {
				return err
			}
		}
		applied := false
		for _, r := range records {
			if !cp.After(r.Position) {
				continue // applied before: a redelivery changes nothing
			}
			if err := Apply(tx, r.Event); err != nil {
				return err
			}
			cp.Advance(r.Position)
			applied = true
		}
		if !applied {
			return nil
		}
		return tx.SetCheckpoint(version, cp)
	})
	if err != nil {
		return err
	}
	p.progress.Moved(cp)
	return nil
}

// WaitFor blocks until the read model has applied every position of c, so a client that just
// wrote reads its own write. It polls the store as well, for projectors in other processes.
func (p *Projector) WaitFor(ctx context.Context, c eventlog.Cursor) error {
	return p.progress.WaitFor(ctx, c, func(ctx context.Context) (eventlog.Cursor, error) {
		return p.store.Checkpoint(ctx, p.Version())
	})
}

// Applied returns the cursor the read model has applied, by whichever process.
func (p *Projector) Applied(ctx context.Context) (eventlog.Cursor, error) {
	return p.store.Checkpoint(ctx, p.Version())
}

// Changed returns a channel closed when this process's projector commits its next batch.
func (p *Projector) Changed() <-chan struct{} { return p.progress.Changed() }

// Apply applies one event to the read model. It is idempotent per message id and tolerant of
// rows that do not exist (yet): a projection never fails on an event it cannot place.
func Apply(tx Tx, e domain.Event) error {
	team := e.TeamID
	switch p := e.Payload.(type) {
	case domain.TeamCreated:
		return tx.PutTeam(Team{ID: p.TeamID, Name: p.Name, CreatedAt: e.OccurredAt})
	case domain.MemberAdded:
		return tx.PutMember(Member{ID: p.MemberID, TeamID: team, Email: p.Email, Name: p.Name, Role: p.Role, CreatedAt: e.OccurredAt})
	case domain.APIKeyCreated:
		return tx.PutAPIKey(APIKey{ID: p.KeyID, TeamID: team, MemberID: p.MemberID, Hash: p.KeyHash, InstanceAdmin: p.InstanceAdmin,
			CreatedAt: e.OccurredAt, Prefix: p.Prefix})
	case domain.APIKeyRevoked:
		return tx.DeleteAPIKey(team, p.KeyID)
	case domain.MemberRemoved:
		return tx.DeleteMember(team, p.MemberID)
	case domain.TagCreated:
		return tx.PutTag(Tag{ID: p.TagID, TeamID: team, Name: p.Name, Color: p.Color})
	case domain.TagDeleted:
		return tx.DeleteTag(team, p.TagID)
	case domain.StatusCreated:
		return tx.PutStatus(Status{ID: p.StatusID, TeamID: team, Name: p.Name, Position: p.Position})
	case domain.AccountLinked:
		a, err := tx.GetAccountLink(team, p.AccountLinkID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if errors.Is(err, ErrNotFound) {
			a = AccountLink{ID: p.AccountLinkID, TeamID: team, LinkedAt: e.OccurredAt}
		}
		a.Platform, a.PlatformID, a.Username, a.DisplayName, a.WebhookPath = p.Platform.String(), p.PlatformID, p.Username, p.DisplayName, p.WebhookPath
		a.Unlinked, a.Healthy, a.HealthReason = false, true, ""
		a.Active = true
		return tx.PutAccountLink(a)
	case domain.AccountUnlinked:
		return updateAccount(tx, team, p.AccountLinkID, func(a *AccountLink) {
			a.Unlinked, a.Active, a.HealthReason = true, false, "unlinked"
		})
	case domain.AccountHealthChanged:
		return updateAccount(tx, team, p.AccountLinkID, func(a *AccountLink) {
			a.Healthy = p.Healthy
			if !a.Unlinked {
				a.Active, a.HealthReason = p.Healthy, p.Reason
			}
		})
	case domain.MessageReceived:
		status := "received"
		if p.Direction == domain.Outbound {
			status = "sent"
		}
		return addMessage(tx, e, p, status)
	case domain.MessageSendRequested:
		return addMessage(tx, e, domain.MessageReceived{
			MessageID: p.MessageID, ThreadID: p.ThreadID, ProspectID: p.ProspectID, AccountLinkID: p.AccountLinkID,
			Platform: p.Platform, Direction: domain.Outbound, Text: p.Text, Attachments: p.Attachments, SentAt: e.OccurredAt,
			ReplyToMessageID: p.ReplyToMessageID, Decision: p.Decision,
		}, SendPending)
	case domain.MessageSent:
		return updateSend(tx, team, p.MessageID, domain.SendSent.String(), "", func(m *Message) {
			if p.PlatformMessageID != "" {
				m.PlatformID = p.PlatformMessageID
			}
		})
	case domain.MessageSendFailed:
		return updateSend(tx, team, p.MessageID, domain.SendFailed.String(), p.Reason, nil)
	case domain.MessageSendRetried:
		return updateSend(tx, team, p.MessageID, SendPending, "", nil)
	case domain.MessageSendCancelled:
		return updateSend(tx, team, p.MessageID, domain.SendCancelled.String(), "", nil)
	case domain.MessageDeliveryUpdated:
		return updateSend(tx, team, p.MessageID, p.Status, "", nil)
	case domain.MessageEdited:
		return updateMessage(tx, team, p.MessageID, func(m *Message) bool {
			if m.Deleted {
				return false
			}
			m.Text, m.Edited = p.Text, true
			return true
		})
	case domain.MessageDeleted:
		return updateMessage(tx, team, p.MessageID, func(m *Message) bool {
			m.Text, m.Attachments, m.Deleted = "", nil, true
			return true
		})
	case domain.ThreadRead:
		return updateThread(tx, team, p.ThreadID, func(t *Thread) { t.UnreadCount = 0 })
	case domain.ThreadSeen:
		return nil // recorded in the log; no view shows it yet
	case domain.ThreadAssigned:
		return updateThread(tx, team, p.ThreadID, func(t *Thread) {
			t.AssigneeMemberID = p.MemberID
			t.Request = t.Request && !answers(p.Decision, t.ID)
		})
	case domain.ThreadUnassigned:
		return updateThread(tx, team, p.ThreadID, func(t *Thread) { t.AssigneeMemberID = "" })
	case domain.ThreadDone:
		return updateThread(tx, team, p.ThreadID, func(t *Thread) {
			t.Done = true
			t.Request = t.Request && !answers(p.Decision, t.ID)
		})
	case domain.ThreadReopened:
		return updateThread(tx, team, p.ThreadID, func(t *Thread) { t.Done = false })
	case domain.ProspectProfileUpdated:
		return updateProspect(tx, team, p.ProspectID, func(pr *Prospect) {
			mergeProfile(pr, domain.Participant{Username: p.Username, DisplayName: p.DisplayName, AvatarURL: p.AvatarURL})
		})
	case domain.ProspectTagged:
		if err := tx.AddProspectTag(team, p.ProspectID, p.TagID); err != nil {
			return err
		}
		return answerRequests(tx, team, p.ProspectID, p.Decision)
	case domain.ProspectUntagged:
		return tx.RemoveProspectTag(team, p.ProspectID, p.TagID)
	case domain.ProspectStatusChanged:
		if err := updateProspect(tx, team, p.ProspectID, func(pr *Prospect) { pr.StatusID = p.StatusID }); err != nil {
			return err
		}
		return answerRequests(tx, team, p.ProspectID, p.Decision)
	case domain.ProspectContextUpdated:
		return updateProspect(tx, team, p.ProspectID, func(pr *Prospect) {
			pr.Notes, pr.Valuation, pr.CustomFields = p.Notes, p.Valuation, p.CustomFields
		})
	}
	return nil // an event type this projection does not show
}

// addMessage records a message and what it changes on its thread and prospect. A message id
// seen before changes nothing, whatever path brought it again.
func addMessage(tx Tx, e domain.Event, p domain.MessageReceived, status string) error {
	team := e.TeamID
	sent := p.SentAt
	if sent.IsZero() {
		sent = e.OccurredAt
	}
	sender := p.Sender
	if sender.PlatformID == "" && p.Direction == domain.Inbound {
		sender = p.Prospect
	}
	atts := make([]Attachment, len(p.Attachments))
	for i, a := range p.Attachments {
		atts[i] = Attachment{Type: a.Type, URL: a.URL, MimeType: a.MimeType, PlatformID: a.PlatformID, Name: a.Name}
	}
	inserted, err := tx.InsertMessage(Message{
		ID: p.MessageID, TeamID: team, ThreadID: p.ThreadID, ProspectID: p.ProspectID, AccountLinkID: p.AccountLinkID,
		Platform: p.Platform.String(), PlatformID: p.PlatformMessageID, Direction: p.Direction.String(),
		SenderPlatformID: sender.PlatformID, SenderUsername: sender.Username, SenderDisplayName: sender.DisplayName,
		SenderAvatarURL: sender.AvatarURL, Text: p.Text, Attachments: atts, SentAt: sent,
		ReplyToMessageID: p.ReplyToMessageID, Status: status,
	})
	if err != nil || !inserted {
		return err
	}

	pr, err := tx.GetProspect(team, p.ProspectID)
	switch {
	case errors.Is(err, ErrNotFound):
		pr = Prospect{ID: p.ProspectID, TeamID: team, Platform: p.Platform.String(), PlatformID: p.Prospect.PlatformID,
			FirstSeenAt: sent, LastSeenAt: sent}
	case err != nil:
		return err
	}
	mergeProfile(&pr, p.Prospect)
	if sent.Before(pr.FirstSeenAt) {
		pr.FirstSeenAt = sent
	}
	if sent.After(pr.LastSeenAt) {
		pr.LastSeenAt = sent
	}
	if err := tx.PutProspect(pr); err != nil {
		return err
	}

	t, err := tx.GetThread(team, p.ThreadID)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	d := p.Decision
	if !d.Decided {
		// An event of the first release: decide it from the state it found, with the rules the
		// write model decides new events with.
		hasThreads := exists
		if !exists {
			others, err := tx.ThreadsOfProspect(team, p.ProspectID)
			if err != nil {
				return err
			}
			hasThreads = len(others) > 0
		}
		d = domain.DecideMessage(domain.ThreadFacts{ID: p.ThreadID, Exists: exists, Done: t.Done, Request: t.Request},
			hasThreads, p.Direction, e.Origin)
	}
	if !exists {
		t = Thread{ID: p.ThreadID, TeamID: team, Platform: p.Platform.String(), PlatformID: p.PlatformConversationID,
			AccountLinkID: p.AccountLinkID, ProspectID: p.ProspectID, CreatedAt: e.RecordedAt, Request: d.OpensRequest}
	}
	t.MessageCount++
	if p.Direction == domain.Inbound {
		t.UnreadCount++
	}
	if d.Reopens {
		t.Done = false
	}
	if d.Answers(t.ID) {
		t.Request = false
	}
	if t.LastMessageID == "" || !sent.Before(t.LastMessageAt) {
		t.LastMessageID, t.LastMessageAt, t.LastMessageDirection = p.MessageID, sent, p.Direction.String()
		t.LastMessageText = Preview(p.Text, atts)
	}
	if err := tx.PutThread(t); err != nil {
		return err
	}
	for _, id := range d.AnsweredRequests {
		if id != t.ID {
			if err := updateThread(tx, team, id, func(o *Thread) { o.Request = false }); err != nil {
				return err
			}
		}
	}
	return nil
}

// Preview is the text shown for a thread's last message.
func Preview(text string, atts []Attachment) string {
	const max = 200
	if text == "" && len(atts) > 0 {
		return "[" + atts[0].Type + "]"
	}
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	r := []rune(text)
	return string(r[:max-1]) + "…"
}

func mergeProfile(pr *Prospect, p domain.Participant) {
	if p.Username != "" {
		pr.Username = p.Username
	}
	if p.DisplayName != "" {
		pr.DisplayName = p.DisplayName
	}
	if p.AvatarURL != "" {
		pr.AvatarURL = p.AvatarURL
	}
}

func updateAccount(tx Tx, team, id string, f func(*AccountLink)) error {
	a, err := tx.GetAccountLink(team, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	f(&a)
	return tx.PutAccountLink(a)
}

func updateThread(tx Tx, team, id string, f func(*Thread)) error {
	t, err := tx.GetThread(team, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	f(&t)
	return tx.PutThread(t)
}

func updateProspect(tx Tx, team, id string, f func(*Prospect)) error {
	p, err := tx.GetProspect(team, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	f(&p)
	return tx.PutProspect(p)
}

// updateMessage changes a message; when f reports that its text changed and it is its thread's
// last message, the thread's preview follows.
// SendPending is the status of a reply no platform has confirmed yet.
const SendPending = "pending"

// FailedStatus is how a failed reply's status is stored: the state and its reason, so the
// read model needs no column of its own for the reason (see Message.SendState).
func FailedStatus(reason string) string { return "failed:" + reason }

// SendState splits a message's stored status into the status and, for a failed reply, the reason.
func (m Message) SendState() (status, reason string) {
	if r, ok := strings.CutPrefix(m.Status, "failed:"); ok {
		return "failed", r
	}
	return m.Status, ""
}

// sendRank orders reply statuses so a late or redelivered event never moves one back: a
// receipt may overtake message.sent, a failure report may follow a delivery.
var sendRank = map[string]int{SendPending: 1, "failed": 1, "cancelled": 2, "sent": 3, "delivered": 4, "read": 5}

// updateSend moves one of our replies to status (reason: for failed), never backwards except
// from failed to pending (a retry) or sent to failed (the platform refused it after all).
func updateSend(tx Tx, team, id, status, reason string, f func(*Message)) error {
	return updateMessage(tx, team, id, func(m *Message) bool {
		cur, _ := m.SendState()
		switch {
		case status == "failed" && cur == "sent", status == SendPending && cur == "failed":
		case sendRank[status] < sendRank[cur], status == cur && status != "failed":
			if f != nil {
				f(m)
			}
			return false
		}
		m.Status = status
		if status == "failed" {
			m.Status = FailedStatus(reason)
		}
		if f != nil {
			f(m)
		}
		return false
	})
}

func updateMessage(tx Tx, team, id string, f func(*Message) bool) error {
	m, err := tx.GetMessage(team, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	textChanged := f(&m)
	if err := tx.PutMessage(m); err != nil {
		return err
	}
	if !textChanged {
		return nil
	}
	return updateThread(tx, team, m.ThreadID, func(t *Thread) {
		if t.LastMessageID == m.ID {
			t.LastMessageText = Preview(m.Text, m.Attachments)
		}
	})
}

// answers reports whether an event answers thread id's request. An event of the first release
// (undecided) answers the thread it acts on, as domain.DecideAnswer decides from the same state.
func answers(d domain.Decision, id string) bool { return !d.Decided || d.Answers(id) }

// answerRequests applies the requests a prospect-wide act (tag, status) answered. An event of
// the first release answers every request of the prospect, as domain.DecideAnswer decides from
// the same state.
func answerRequests(tx Tx, team, prospectID string, d domain.Decision) error {
	if d.Decided {
		for _, id := range d.AnsweredRequests {
			if err := updateThread(tx, team, id, func(t *Thread) { t.Request = false }); err != nil {
				return err
			}
		}
		return nil
	}
	threads, err := tx.ThreadsOfProspect(team, prospectID)
	if err != nil {
		return err
	}
	for _, t := range threads {
		if t.Request {
			t.Request = false
			if err := tx.PutThread(t); err != nil {
				return err
			}
		}
	}
	return nil
}
