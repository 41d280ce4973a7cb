package projections

import "github.com/switchboard-oss/switchboard/domain"

// RowKey names a row of the read model by team and id.
type RowKey struct{ TeamID, ID string }

// Prefetch names the rows that applying a batch of events will read.
type Prefetch struct {
	Messages, Threads, Prospects []RowKey
}

// Prefetcher is a Tx that loads, before a batch is applied, the rows the batch will read: one
// query per table instead of one round trip per row as Apply asks for each. A store without
// round trips (SQLite in-process) need not implement it.
type Prefetcher interface {
	Prefetch(p Prefetch) error
}

// PrefetchOf returns the rows Apply will read for events (a row may be named twice).
func PrefetchOf(events []domain.Event) Prefetch {
	var p Prefetch
	msg := func(team, id string) { p.Messages = append(p.Messages, RowKey{team, id}) }
	thread := func(team, id string) { p.Threads = append(p.Threads, RowKey{team, id}) }
	answered := func(team string, d domain.Decision) {
		for _, id := range d.AnsweredRequests {
			thread(team, id)
		}
	}
	prospect := func(team, id string) { p.Prospects = append(p.Prospects, RowKey{team, id}) }
	for _, e := range events {
		team := e.TeamID
		switch d := e.Payload.(type) {
		case domain.MessageReceived:
			answered(team, d.Decision)
			msg(team, d.MessageID)
			thread(team, d.ThreadID)
			prospect(team, d.ProspectID)
		case domain.MessageSendRequested:
			answered(team, d.Decision)
			msg(team, d.MessageID)
			thread(team, d.ThreadID)
			prospect(team, d.ProspectID)
		case domain.MessageSent:
			msg(team, d.MessageID)
		case domain.MessageSendFailed:
			msg(team, d.MessageID)
		case domain.MessageEdited:
			msg(team, d.MessageID)
		case domain.MessageDeleted:
			msg(team, d.MessageID)
		case domain.ThreadRead:
			thread(team, d.ThreadID)
		case domain.ThreadAssigned:
			thread(team, d.ThreadID)
		case domain.ThreadUnassigned:
			thread(team, d.ThreadID)
		case domain.ThreadDone:
			thread(team, d.ThreadID)
		case domain.ThreadReopened:
			thread(team, d.ThreadID)
		case domain.ProspectProfileUpdated:
			prospect(team, d.ProspectID)
		case domain.ProspectStatusChanged:
			answered(team, d.Decision)
			prospect(team, d.ProspectID)
		case domain.ProspectTagged:
			answered(team, d.Decision)
		case domain.ProspectContextUpdated:
			prospect(team, d.ProspectID)
		}
	}
	return p
}
