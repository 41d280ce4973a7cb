package domain

import (
	"maps"
	"slices"
	"strings"
	"time"
)

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
	sends   map[string]OutgoingSend
	// ours maps the platform ids of our sent replies to their msg_ ids, so an echo or a poll of
	// one of them is recognized as ours.
	ours map[string]string
	// platformID is the prospect's id on the platform.
	platformID string
	// decided holds the ids of the events its commands decided (not the platform's facts, which
	// the log deduplicates by their derived ids), so a retried command is recognized.
	decided map[string]struct{}
}

// ProspectThread is one thread as the Prospect aggregate knows it.
type ProspectThread struct {
	ID, AccountLinkID string
	Done, Request     bool
	Assignee          string
	// ConversationID is the platform's id of the conversation.
	ConversationID string
	// LastInboundAt is the time of the prospect's last message in it (the window rules).
	LastInboundAt time.Time
}

// OutgoingSend is where one of our replies stands, as the aggregate knows it.
type OutgoingSend struct {
	Request MessageSendRequested
	Status  SendStatus
	// Attempts counts the attempts started; InFlight: the last has no outcome yet.
	Attempts          int32
	InFlight          bool
	PlatformMessageID string
	// FailureReason is the reason of the last failure (unknown_outcome: a person decides).
	FailureReason string
	// SentAt is when the platform took it (zero until sent).
	SentAt time.Time
}

// NewProspect returns the aggregate of prospect id before its first event.
func NewProspect(id string) *Prospect {
	return &Prospect{id: id, tags: map[string]bool{}, threads: map[string]ProspectThread{}, sends: map[string]OutgoingSend{},
		ours: map[string]string{}, decided: map[string]struct{}{}}
}

// ID is the prospect's id, the key of its stream.
func (p *Prospect) ID() string { return p.id }

// Version is the number of the stream's events applied.
func (p *Prospect) Version() int64 { return p.version }

// Clone returns a copy that can decide and apply without touching p.
func (p *Prospect) Clone() *Prospect {
	c := *p
	c.tags, c.threads, c.sends, c.decided = maps.Clone(p.tags), maps.Clone(p.threads), maps.Clone(p.sends), maps.Clone(p.decided)
	c.ours = maps.Clone(p.ours)
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
func (p *Prospect) Send(messageID string) SendStatus { return p.sends[messageID].Status }

// Outgoing returns one of our replies (ok false when the message is not one).
func (p *Prospect) Outgoing(messageID string) (OutgoingSend, bool) {
	o, ok := p.sends[messageID]
	return o, ok
}

// move applies a status change to one of our replies, when the state machine allows it.
func (p *Prospect) move(messageID string, next SendStatus, f func(*OutgoingSend)) {
	o, ok := p.sends[messageID]
	if !ok || !o.Status.CanBecome(next) {
		return
	}
	o.Status = next
	if f != nil {
		f(&o)
	}
	p.sends[messageID] = o
}

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
	case MessageReceived, MessageEdited, MessageDeleted, ThreadSeen, ProspectProfileUpdated, MessageDeliveryUpdated:
	default:
		p.decided[e.ID] = struct{}{}
	}
	e = p.WithDecision(e)
	switch ev := e.Payload.(type) {
	case MessageReceived:
		p.addMessage(ev.MessageID, ev.ThreadID, ev.AccountLinkID, ev.Decision)
		p.updateThread(ev.ThreadID, func(t *ProspectThread) {
			if t.ConversationID == "" {
				t.ConversationID = ev.PlatformConversationID
			}
			if ev.Direction == Inbound && ev.SentAt.After(t.LastInboundAt) {
				t.LastInboundAt = ev.SentAt
			}
		})
		if p.platformID == "" {
			p.platformID = ev.Prospect.PlatformID
		}
	case MessageSendRequested:
		p.addMessage(ev.MessageID, ev.ThreadID, ev.AccountLinkID, ev.Decision)
		p.sends[ev.MessageID] = OutgoingSend{Request: ev, Status: SendPending}
	case MessageSendAttempted:
		if o, ok := p.sends[ev.MessageID]; ok && o.Status == SendPending {
			o.Attempts, o.InFlight = max(o.Attempts, ev.Attempt), true
			p.sends[ev.MessageID] = o
		}
	case MessageSent:
		p.move(ev.MessageID, SendSent, func(o *OutgoingSend) {
			o.InFlight, o.PlatformMessageID, o.SentAt = false, ev.PlatformMessageID, ev.SentAt
		})
		if ev.PlatformMessageID != "" {
			if _, ok := p.sends[ev.MessageID]; ok {
				p.ours[ev.PlatformMessageID] = ev.MessageID
			}
		}
	case MessageSendFailed:
		p.move(ev.MessageID, SendFailed, func(o *OutgoingSend) { o.InFlight, o.FailureReason = false, ev.Reason })
	case MessageSendRetried:
		p.move(ev.MessageID, SendPending, nil)
	case MessageSendCancelled:
		p.move(ev.MessageID, SendCancelled, nil)
	case MessageDeliveryUpdated:
		next := SendDelivered
		if ev.Status == SendRead.name {
			next = SendRead
		}
		p.move(ev.MessageID, next, func(o *OutgoingSend) { o.InFlight = false })
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

// SendRules are what the reply rules need beyond the aggregate: the clock, the platform's
// capabilities, and whether the team enabled Meta's HUMAN_AGENT tag on the link.
type SendRules struct {
	Now          time.Time
	Capabilities Capabilities
	HumanAgent   bool
}

// RequestSend records one of our replies on an existing thread, pending until a sender
// attempts it; it answers the thread's request. The window rule of the platform is decided
// here, up front: a reply it would refuse is a broken rule naming it, and nothing is recorded.
func (p *Prospect) RequestSend(r MessageSendRequested, rules SendRules) (MessageSendRequested, error) {
	t, err := p.Thread(r.ThreadID)
	if err != nil {
		return r, err
	}
	if o, ok := p.sends[r.MessageID]; ok {
		if o.Status == SendPending {
			return o.Request, nil // a repeat
		}
		return r, Precondition("message %s is %s", r.MessageID, o.Status)
	}
	tag := ""
	if r.Template == nil || !rules.Capabilities.Templates { // an approved template may go out any time
		tag, err = rules.Capabilities.Window.Open(rules.Now, t.LastInboundAt, rules.HumanAgent)
		if err != nil {
			return r, err
		}
	}
	r.ProspectID, r.AccountLinkID, r.MessageTag = p.id, t.AccountLinkID, tag
	r.RecipientPlatformID, r.PlatformConversationID = p.platformID, t.ConversationID
	if r.PlatformConversationID == "" {
		r.PlatformConversationID = p.platformID
	}
	r.Decision = DecideMessage(p.facts(r.ThreadID), true, Outbound, OriginAPI)
	return r, nil
}

func (p *Prospect) outgoing(messageID string) (OutgoingSend, error) {
	o, ok := p.sends[messageID]
	if !ok {
		return o, NotFound("message", messageID)
	}
	return o, nil
}

// AttemptSend starts an attempt of a pending reply, before the sender calls the platform. It
// refuses a reply that is not pending, and one whose previous attempt has no outcome: that one
// must be reconciled (ReconcileSend), not sent again blindly.
func (p *Prospect) AttemptSend(messageID string) (MessageSendAttempted, error) {
	o, err := p.outgoing(messageID)
	if err != nil {
		return MessageSendAttempted{}, err
	}
	if o.Status != SendPending {
		return MessageSendAttempted{}, Precondition("message %s is %s, not pending", messageID, o.Status)
	}
	if o.InFlight {
		return MessageSendAttempted{}, Precondition("message %s has an attempt without outcome: reconcile it first", messageID)
	}
	return MessageSendAttempted{MessageID: messageID, ThreadID: o.Request.ThreadID, ProspectID: p.id, Attempt: o.Attempts + 1}, nil
}

// RecordSent records that the platform accepted a reply (or showed it to us: an echo). A
// repeat, or news about a reply already further along, decides nothing.
func (p *Prospect) RecordSent(messageID, platformMessageID string, at time.Time) (MessageSent, bool, error) {
	o, err := p.outgoing(messageID)
	if err != nil {
		return MessageSent{}, false, Precondition("message %s was never requested", messageID)
	}
	if !o.Status.CanBecome(SendSent) {
		return MessageSent{}, false, nil
	}
	return MessageSent{MessageID: messageID, ThreadID: o.Request.ThreadID, ProspectID: p.id, PlatformMessageID: platformMessageID,
		SentAt: at.UTC()}, true, nil
}

// Send reasons: stable codes clients may rely on (Message.failure_reason).
const (
	ReasonUnknownOutcome = "unknown_outcome"
	ReasonCancelled      = "cancelled"
)

// RecordSendFailed records that a pending (or sent) reply failed. A repeat decides nothing.
func (p *Prospect) RecordSendFailed(messageID, reason string, permanent bool, code string) (MessageSendFailed, bool, error) {
	o, err := p.outgoing(messageID)
	if err != nil {
		return MessageSendFailed{}, false, Precondition("message %s was never requested", messageID)
	}
	if !o.Status.CanBecome(SendFailed) {
		return MessageSendFailed{}, false, nil
	}
	return MessageSendFailed{MessageID: messageID, ThreadID: o.Request.ThreadID, ProspectID: p.id, Reason: reason,
		Permanent: permanent, PlatformErrorCode: code}, true, nil
}

// RetrySend asks for a new attempt of a failed reply: the same message, pending again. A
// pending one is a repeat (changed false).
func (p *Prospect) RetrySend(messageID string) (MessageSendRetried, bool, error) {
	o, err := p.outgoing(messageID)
	if err != nil {
		return MessageSendRetried{}, false, err
	}
	if o.Status == SendPending {
		return MessageSendRetried{}, false, nil
	}
	if o.Status != SendFailed {
		return MessageSendRetried{}, false, Precondition("message %s is %s: only a failed message can be retried", messageID, o.Status)
	}
	if _, err := p.Thread(o.Request.ThreadID); err != nil {
		return MessageSendRetried{}, false, err
	}
	return MessageSendRetried{MessageID: messageID, ThreadID: o.Request.ThreadID, ProspectID: p.id}, true, nil
}

// CancelSend withdraws a pending reply no sender has attempted. A cancelled one is a repeat.
func (p *Prospect) CancelSend(messageID string) (MessageSendCancelled, bool, error) {
	o, err := p.outgoing(messageID)
	if err != nil {
		return MessageSendCancelled{}, false, err
	}
	switch {
	case o.Status == SendCancelled:
		return MessageSendCancelled{}, false, nil
	case o.Status != SendPending:
		return MessageSendCancelled{}, false, Precondition("message %s is %s: only a pending message can be cancelled", messageID, o.Status)
	case o.InFlight:
		return MessageSendCancelled{}, false, Precondition("message %s is being sent: it can no longer be cancelled", messageID)
	}
	return MessageSendCancelled{MessageID: messageID, ThreadID: o.Request.ThreadID, ProspectID: p.id}, true, nil
}

// RecordDelivery moves a reply to delivered or read, from a platform receipt. Receipts of
// messages that are not ours, or that would move it back, decide nothing.
func (p *Prospect) RecordDelivery(messageID string, status SendStatus, at time.Time) (MessageDeliveryUpdated, bool) {
	o, ok := p.sends[messageID]
	if !ok || (status != SendDelivered && status != SendRead) || !o.Status.CanBecome(status) {
		return MessageDeliveryUpdated{}, false
	}
	return MessageDeliveryUpdated{MessageID: messageID, ThreadID: o.Request.ThreadID, ProspectID: p.id, Status: status.name, At: at.UTC()}, true
}

// SeenUpTo is what the person reading a thread up to at (Meta's read watermark: every
// message sent before it) does to our replies: those sent (or delivered) by then become read,
// in msg_ id order. Replies already read, or not yet sent, are left alone.
func (p *Prospect) SeenUpTo(threadID string, at time.Time) []MessageDeliveryUpdated {
	var out []MessageDeliveryUpdated
	for _, id := range slices.Sorted(maps.Keys(p.sends)) {
		o := p.sends[id]
		if o.Request.ThreadID != threadID || o.SentAt.IsZero() || o.SentAt.After(at) {
			continue
		}
		if d, ok := p.RecordDelivery(id, SendRead, at); ok {
			out = append(out, d)
		}
	}
	return out
}

// OurMessage returns the msg_ id of one of our replies by the platform's id of the message or
// the id our sender attached to it (Meta's metadata); ok false when it is not one of ours.
func (p *Prospect) OurMessage(platformMessageID, clientMessageID string) (string, bool) {
	if clientMessageID != "" {
		if _, ok := p.sends[clientMessageID]; ok {
			return clientMessageID, true
		}
	}
	id, ok := p.ours[platformMessageID]
	return id, ok
}

// unrecordedSend finds the reply a platform shows us before its outcome is recorded: the
// pollers and webhooks of platforms that give no client id back (X, Bluesky, Reddit) may see
// our message while its attempt is in flight (the echo overtakes message.sent), or after the
// sender died during the call (unknown_outcome). It is the one such reply of the same thread
// with the same text; none, or two alike, is no match (the message is then the thread's own).
func (p *Prospect) unrecordedSend(m MessageReceived) (string, bool) {
	text := strings.TrimSpace(m.Text)
	found := ""
	for id, o := range p.sends {
		unrecorded := (o.Status == SendPending && o.InFlight) ||
			(o.Status == SendFailed && o.FailureReason == ReasonUnknownOutcome)
		if !unrecorded || o.PlatformMessageID != "" || o.Request.ThreadID != m.ThreadID || strings.TrimSpace(o.Request.Text) != text {
			continue
		}
		if found != "" {
			return "", false
		}
		found = id
	}
	return found, found != ""
}

// ReceiveOwn decides what a platform's message that is one of our own replies (an echo, a
// poll seeing it) records: that the platform has it (message.sent, when not recorded yet), or
// nothing. ok false: the message is not one of ours.
func (p *Prospect) ReceiveOwn(m MessageReceived) (Payload, bool) {
	if m.Direction != Outbound {
		return nil, false
	}
	id, ok := p.OurMessage(m.PlatformMessageID, m.ClientMessageID)
	if !ok {
		id, ok = p.unrecordedSend(m)
	}
	if !ok {
		return nil, false
	}
	sent, changed, err := p.RecordSent(id, m.PlatformMessageID, m.SentAt)
	if err != nil || !changed {
		return nil, true
	}
	return sent, true
}
