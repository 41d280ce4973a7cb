package domain

import "slices"

// Decision is what the Prospect aggregate decided an event does to threads beyond its own
// fields: first contacts (requests) opened and answered, done threads reopened. It travels in
// the event, so every projection (read model, search, analytics, a client replaying the log)
// applies the same decision instead of deciding again from its own state.
//
// Events written before the write model decided (logs of the first release) carry none
// (Decided false). Their readers decide them with the same functions below, from the state the
// event found, which is what that release's projection did.
type Decision struct {
	Decided bool
	// OpensRequest: the message starts a thread that is a first contact (REQUESTS view).
	OpensRequest bool
	// Reopens: the message reopens its done thread.
	Reopens bool
	// AnsweredRequests are threads that stop being requests: the team answered or acted.
	AnsweredRequests []string
}

// ThreadFacts is what the request and reopen rules need to know of a thread.
type ThreadFacts struct {
	ID                    string
	Exists, Done, Request bool
}

// DecideMessage decides what a message does to its thread. A new thread is a first contact
// when the prospect wrote first and had no thread with the team before; a new inbound message
// reopens a done thread (not one replayed from a backfill); an outbound message answers a
// request.
func DecideMessage(t ThreadFacts, prospectHasThreads bool, dir Direction, origin Origin) Decision {
	d := Decision{Decided: true}
	if !t.Exists {
		d.OpensRequest = dir == Inbound && !prospectHasThreads
		return d
	}
	if dir == Inbound {
		d.Reopens = t.Done && origin != OriginBackfill
		return d
	}
	if t.Request {
		d.AnsweredRequests = []string{t.ID}
	}
	return d
}

// DecideAnswer decides what the team acting on threads (assigning one, marking it done,
// tagging or setting the status of its prospect) does: each that was a request is answered.
func DecideAnswer(threads ...ThreadFacts) Decision {
	d := Decision{Decided: true}
	for _, t := range threads {
		if t.Exists && t.Request {
			d.AnsweredRequests = append(d.AnsweredRequests, t.ID)
		}
	}
	slices.Sort(d.AnsweredRequests)
	return d
}

// Answers reports whether the decision answers thread id's request.
func (d Decision) Answers(id string) bool { return slices.Contains(d.AnsweredRequests, id) }
