package domain

import "maps"

// Prospect is the aggregate of one prospect's stream: the prospect, every thread the team has
// with them (on any of the team's links of that platform), and the send state of our replies.
// It decides the thread rules (first contact, reopening, requests answered, done and assigned
// states) and the prospect rules (tags, status), and carries its decisions in the events.
type Prospect struct {
	id      string
	version int64
	exists  bool
	tags    map[string]bool
	status  string
	threads map[string]ProspectThread
	sends   map[string]SendStatus
	// decided holds the ids of the events its commands decided (not the platform's facts, which
	// the log deduplicates by their derived ids), so a retried command is recognized.
	decided map[string]struct{}
}

// ProspectThread is one thread as the Prospect aggregate knows it.
type ProspectThread struct {
	ID, AccountLinkID string
	Done, Request     bool
	Assignee          string
}

// NewProspect returns the aggregate of prospect id before its first event.
func NewProspect(id string) *Prospect {
	return &Prospect{id: id, tags: map[string]bool{}, threads: map[string]ProspectThread{}, sends: map[string]SendStatus{},
		decided: map[string]struct{}{}}
}

// ID is the prospect's id, the key of its stream.
func (p *Prospect) ID() string { return p.id }

// Version is the number of the stream's events applied.
func (p *Prospect) Version() int64 { return p.version }

// Clone returns a copy that can decide and apply without touching p.
func (p *Prospect) Clone() *Prospect {
	c := *p
	c.tags, c.threads, c.sends, c.decided = maps.Clone(p.tags), maps.Clone(p.threads), maps.Clone(p.sends), maps.Clone(p.decided)
	return &c
}

// Has reports whether an event a command decided is in the stream.
func (p *Prospect) Has(eventID string) bool {
	_, ok := p.decided[eventID]
	return ok
}

// Exists reports whether the prospect has written or been written to.
func (p *Prospect) Exists() bool { return p.exists }

// Thread returns one of the prospect's threads.
func (p *Prospect) Thread(id string) (ProspectThread, error) {
	t, ok := p.threads[id]
	if !ok {
		return t, NotFound("thread", id)
	}
	return t, nil
}

// HasTag reports whether the prospect has the tag.
func (p *Prospect) HasTag(id string) bool { return p.tags[id] }

// Send returns the send state of one of our replies (zero when it is not one).
func (p *Prospect) Send(messageID string) SendStatus { return p.sends[messageID] }

func (p *Prospect) facts(id string) ThreadFacts {
	t, ok := p.threads[id]
	return ThreadFacts{ID: id, Exists: ok, Done: t.Done, Request: t.Request}
}

func (p *Prospect) allFacts() []ThreadFacts {
	out := make([]ThreadFacts, 0, len(p.threads))
	for id := range p.threads {
		out = append(out, p.facts(id))
	}
	return out
}

// WithDecision returns e carrying the decision this aggregate makes for it in its current
// state: its own when it has one (decided by this write model), else the one the rules make
// from the state it found (an event of the first release, which carried none).
func (p *Prospect) WithDecision(e Event) Event {
	switch ev := e.Payload.(type) {
	case MessageReceived:
		if !ev.Decision.Decided {
			ev.Decision = p.decideMessage(ev.MessageID, ev.ThreadID, ev.Direction, e.Origin)
			e.Payload = ev
		}
	case MessageSendRequested:
		if !ev.Decision.Decided {
			ev.Decision = p.decideMessage(ev.MessageID, ev.ThreadID, Outbound, e.Origin)
			e.Payload = ev
		}
	case ThreadAssigned:
		if !ev.Decision.Decided {
			ev.Decision = DecideAnswer(p.facts(ev.ThreadID))
			e.Payload = ev
		}
	case ThreadDone:
		if !ev.Decision.Decided {
			ev.Decision = DecideAnswer(p.facts(ev.ThreadID))
			e.Payload = ev
		}
	case ProspectTagged:
		if !ev.Decision.Decided {
			ev.Decision = DecideAnswer(p.allFacts()...)
			e.Payload = ev
		}
	case ProspectStatusChanged:
		if !ev.Decision.Decided {
			ev.Decision = DecideAnswer(p.allFacts()...)
			e.Payload = ev
		}
	}
	return e
}

// Apply applies the stream's next event, with its decision (see WithDecision).
func (p *Prospect) Apply(e Event) {
	p.version++
	switch e.Payload.(type) {
	case MessageReceived, MessageEdited, MessageDeleted, ThreadSeen, ProspectProfileUpdated:
	default:
		p.decided[e.ID] = struct{}{}
	}
	e = p.WithDecision(e)
	switch ev := e.Payload.(type) {
	case MessageReceived:
		p.addMessage(ev.MessageID, ev.ThreadID, ev.AccountLinkID, ev.Decision)
	case MessageSendRequested:
		p.addMessage(ev.MessageID, ev.ThreadID, ev.AccountLinkID, ev.Decision)
		p.sends[ev.MessageID] = SendPending
	case MessageSent:
		if s, ok := p.sends[ev.MessageID]; ok && s.CanBecome(SendSent) {
			p.sends[ev.MessageID] = SendSent
		}
	case MessageSendFailed:
		if s, ok := p.sends[ev.MessageID]; ok && s.CanBecome(SendFailed) {
			p.sends[ev.MessageID] = SendFailed
		}
	case ThreadAssigned:
		p.updateThread(ev.ThreadID, func(t *ProspectThread) { t.Assignee = ev.MemberID })
		p.answer(ev.Decision)
	case ThreadUnassigned:
		p.updateThread(ev.ThreadID, func(t *ProspectThread) { t.Assignee = "" })
	case ThreadDone:
		p.updateThread(ev.ThreadID, func(t *ProspectThread) { t.Done = true })
		p.answer(ev.Decision)
	case ThreadReopened:
		p.updateThread(ev.ThreadID, func(t *ProspectThread) { t.Done = false })
	case ProspectTagged:
		p.tags[ev.TagID] = true
		p.answer(ev.Decision)
	case ProspectUntagged:
		delete(p.tags, ev.TagID)
	case ProspectStatusChanged:
		p.status = ev.StatusID
		p.answer(ev.Decision)
	}
}

// answer applies a decision's answered requests.
func (p *Prospect) answer(d Decision) {
	for _, id := range d.AnsweredRequests {
		p.updateThread(id, func(t *ProspectThread) { t.Request = false })
	}
}

func (p *Prospect) updateThread(id string, f func(*ProspectThread)) {
	if t, ok := p.threads[id]; ok {
		f(&t)
		p.threads[id] = t
	}
}

func (p *Prospect) decideMessage(messageID, threadID string, dir Direction, origin Origin) Decision {
	if _, ours := p.sends[messageID]; ours {
		return Decision{Decided: true} // our own reply seen again: it was decided when requested
	}
	return DecideMessage(p.facts(threadID), len(p.threads) > 0, dir, origin)
}

func (p *Prospect) addMessage(messageID, threadID, linkID string, d Decision) {
	if _, ours := p.sends[messageID]; ours {
		return
	}
	p.exists = true
	t, ok := p.threads[threadID]
	if !ok {
		t = ProspectThread{ID: threadID, AccountLinkID: linkID, Request: d.OpensRequest}
	}
	if d.Reopens {
		t.Done = false
	}
	p.threads[threadID] = t
	for _, id := range d.AnsweredRequests {
		p.updateThread(id, func(t *ProspectThread) { t.Request = false })
	}
}

// ReceiveMessage decides what a message from the platform (or ingested by a custom source)
// does to its thread.
func (p *Prospect) ReceiveMessage(m MessageReceived, origin Origin) MessageReceived {
	m.Decision = p.decideMessage(m.MessageID, m.ThreadID, m.Direction, origin)
	return m
}

// Assign assigns one of the prospect's threads to a member (who must exist: the command
// checks the Team aggregate); it answers the thread's request.
func (p *Prospect) Assign(threadID, memberID string) (ThreadAssigned, error) {
	if _, err := p.Thread(threadID); err != nil {
		return ThreadAssigned{}, err
	}
	return ThreadAssigned{ThreadID: threadID, ProspectID: p.id, MemberID: memberID, Decision: DecideAnswer(p.facts(threadID))}, nil
}

// Unassign unassigns an assigned thread.
func (p *Prospect) Unassign(threadID string) (ThreadUnassigned, error) {
	t, err := p.Thread(threadID)
	if err != nil {
		return ThreadUnassigned{}, err
	}
	if t.Assignee == "" {
		return ThreadUnassigned{}, Precondition("thread %s is not assigned", threadID)
	}
	return ThreadUnassigned{ThreadID: threadID, ProspectID: p.id}, nil
}

// MarkDone archives a thread that is not done; it answers the thread's request.
func (p *Prospect) MarkDone(threadID string) (ThreadDone, error) {
	t, err := p.Thread(threadID)
	if err != nil {
		return ThreadDone{}, err
	}
	if t.Done {
		return ThreadDone{}, Precondition("thread %s is already done", threadID)
	}
	return ThreadDone{ThreadID: threadID, ProspectID: p.id, Decision: DecideAnswer(p.facts(threadID))}, nil
}

// Reopen reopens a done thread.
func (p *Prospect) Reopen(threadID string) (ThreadReopened, error) {
	t, err := p.Thread(threadID)
	if err != nil {
		return ThreadReopened{}, err
	}
	if !t.Done {
		return ThreadReopened{}, Precondition("thread %s is not done", threadID)
	}
	return ThreadReopened{ThreadID: threadID, ProspectID: p.id}, nil
}

// MarkRead records that the team read a thread.
func (p *Prospect) MarkRead(threadID string) (ThreadRead, error) {
	if _, err := p.Thread(threadID); err != nil {
		return ThreadRead{}, err
	}
	return ThreadRead{ThreadID: threadID, ProspectID: p.id}, nil
}

func (p *Prospect) require() error {
	if !p.exists {
		return NotFound("prospect", p.id)
	}
	return nil
}

// Tag adds a tag (which must exist: the command checks the Team aggregate) the prospect does
// not have yet; acting on the prospect answers their requests.
func (p *Prospect) Tag(tagID string) (ProspectTagged, error) {
	if err := p.require(); err != nil {
		return ProspectTagged{}, err
	}
	if p.tags[tagID] {
		return ProspectTagged{}, Precondition("prospect %s already has tag %s", p.id, tagID)
	}
	return ProspectTagged{ProspectID: p.id, TagID: tagID, Decision: DecideAnswer(p.allFacts()...)}, nil
}

// Untag removes a tag the prospect has.
func (p *Prospect) Untag(tagID string) (ProspectUntagged, error) {
	if err := p.require(); err != nil {
		return ProspectUntagged{}, err
	}
	if !p.tags[tagID] {
		return ProspectUntagged{}, Precondition("prospect %s does not have tag %s", p.id, tagID)
	}
	return ProspectUntagged{ProspectID: p.id, TagID: tagID}, nil
}

// SetStatus sets (or, with "", clears) the prospect's status; it answers their requests.
func (p *Prospect) SetStatus(statusID string) (ProspectStatusChanged, error) {
	if err := p.require(); err != nil {
		return ProspectStatusChanged{}, err
	}
	return ProspectStatusChanged{ProspectID: p.id, StatusID: statusID, Decision: DecideAnswer(p.allFacts()...)}, nil
}

// UpdateContext replaces the prospect's notes, valuation and custom fields.
func (p *Prospect) UpdateContext(c ProspectContext) (ProspectContextUpdated, error) {
	if err := p.require(); err != nil {
		return ProspectContextUpdated{}, err
	}
	return ProspectContextUpdated{ProspectID: p.id, Notes: c.Notes, Valuation: c.Valuation, CustomFields: c.CustomFields}, nil
}

// RequestSend records one of our replies on an existing thread, pending until a sender
// attempts it; it answers the thread's request.
func (p *Prospect) RequestSend(r MessageSendRequested) (MessageSendRequested, error) {
	t, err := p.Thread(r.ThreadID)
	if err != nil {
		return r, err
	}
	if _, err := p.sends[r.MessageID].Transition(r.MessageID, SendPending); err != nil {
		return r, err
	}
	r.ProspectID, r.AccountLinkID = p.id, t.AccountLinkID
	r.Decision = DecideMessage(p.facts(r.ThreadID), true, Outbound, OriginAPI)
	return r, nil
}

// RecordSent records that the platform accepted a pending reply. A repeat decides nothing.
func (p *Prospect) RecordSent(messageID, threadID, platformMessageID string) (MessageSent, bool, error) {
	changed, err := p.sends[messageID].Transition(messageID, SendSent)
	if err != nil || !changed {
		return MessageSent{}, false, err
	}
	return MessageSent{MessageID: messageID, ThreadID: threadID, ProspectID: p.id, PlatformMessageID: platformMessageID}, true, nil
}

// RecordSendFailed records that a pending (or sent) reply failed. A repeat decides nothing.
func (p *Prospect) RecordSendFailed(messageID, threadID, reason string, permanent bool) (MessageSendFailed, bool, error) {
	changed, err := p.sends[messageID].Transition(messageID, SendFailed)
	if err != nil || !changed {
		return MessageSendFailed{}, false, err
	}
	return MessageSendFailed{MessageID: messageID, ThreadID: threadID, ProspectID: p.id, Reason: reason, Permanent: permanent}, true, nil
}
