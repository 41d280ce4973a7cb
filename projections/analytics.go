package projections

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// AnalyticsProjection is the conversation-metrics projection's name and the version of its
// definition (docs/analytics.md). Changing the definition means changing this name: the
// projector then drops every figure and recomputes all history from the beginning of the log.
const AnalyticsProjection = "analytics.v2"

// AnalyticsPrefix starts the name of every version of the projection.
const AnalyticsPrefix = "analytics."

// FactKind is what a conversation fact records.
type FactKind string

const (
	FactInbound  FactKind = "inbound"  // the prospect wrote
	FactOutbound FactKind = "outbound" // the team's account wrote
	FactDone     FactKind = "done"     // the thread was marked done
)

// ActorKind says who wrote an outbound message (or marked a thread done).
type ActorKind string

const (
	ActorProspect    ActorKind = "prospect"     // inbound messages
	ActorKindMember  ActorKind = "member"       // a member, in Switchboard (SendMessage, MarkThreadDone)
	ActorAPIKey      ActorKind = "api_key"      // an integration with a member's key (IngestMessage, outbound)
	ActorPlatformApp ActorKind = "platform_app" // someone in the platform's own app (an echo, a poll)
	ActorAutomation  ActorKind = "automation"   // a bot or an automation: excluded from every time
)

// ConversationFact is one dated fact of a thread that the metrics are computed from. Facts
// are kept, so a thread's turns are recomputed from all of its facts, in platform-time order,
// whatever order the log brought them in (backfilled history lands between live messages).
type ConversationFact struct {
	TeamID        string
	ID            string // the message id, or the event id of a done
	ThreadID      string
	ProspectID    string
	AccountLinkID string
	Platform      string
	Kind          FactKind
	Actor         ActorKind
	MemberID      string
	At            time.Time // the platform's time (sent_at), or when the thread was marked done
	// Counted is false for a reply that failed for good or was cancelled: it never reached anyone.
	Counted bool
}

// ConversationTurn is one turn of a thread (see Turns) and its figures.
type ConversationTurn struct {
	TeamID        string
	ThreadID      string
	Turn          int
	ProspectID    string
	AccountLinkID string
	Platform      string
	StartedAt     time.Time
	// FirstResponseAt is zero while unanswered.
	FirstResponseAt        time.Time
	FirstResponderMemberID string
	FirstResponderKind     ActorKind
	// ResolvedAt is zero while the turn is open.
	ResolvedAt         time.Time
	ResolvedByMemberID string
	Inbound, Outbound  int
	Automated          int
	Replies            []Reply
}

// Reply is one reply time: from the first inbound message of a run to the reply that ended it.
type Reply struct {
	InboundAt, RepliedAt time.Time
	MemberID             string
	Kind                 ActorKind
}

// FirstResponse is the turn's first response time; ok is false while unanswered.
func (t ConversationTurn) FirstResponse() (time.Duration, bool) {
	if t.FirstResponseAt.IsZero() {
		return 0, false
	}
	return t.FirstResponseAt.Sub(t.StartedAt), true
}

// Resolution is the turn's resolution time; ok is false while open.
func (t ConversationTurn) Resolution() (time.Duration, bool) {
	if t.ResolvedAt.IsZero() {
		return 0, false
	}
	return t.ResolvedAt.Sub(t.StartedAt), true
}

// outboundActor classifies the writer of an outbound message from its event: a send requested
// in Switchboard by a member, a message an integration ingested with a member's key, an echo or
// poll of a message written in the platform's own app, or an automation.
func outboundActor(e domain.Event, automated bool) (ActorKind, string) {
	member, isMember := strings.CutPrefix(e.Actor, "member:")
	switch {
	case automated || (!isMember && !strings.HasPrefix(e.Actor, "platform:")):
		return ActorAutomation, ""
	case !isMember:
		return ActorPlatformApp, ""
	case e.Type() == domain.TypeMessageSendRequested:
		return ActorKindMember, member
	default:
		return ActorAPIKey, member
	}
}

// AnalyticsChange is what one event changes among a team's conversation facts.
type AnalyticsChange struct {
	// Put is a new fact (zero ID: none); a fact whose id exists is left as it is.
	Put ConversationFact
	// Update changes the existing fact MessageID of the team (nil: none).
	MessageID string
	Update    func(*ConversationFact)
}

// FactPrecision is what a fact keeps of a time: every store keeps it exactly, so that facts
// sort alike on every store and in the projector (TurnFold).
const FactPrecision = time.Microsecond

// AnalyticsChangeOf maps an event to the conversation fact it adds or changes; times are kept
// to FactPrecision.
func AnalyticsChangeOf(e domain.Event) (AnalyticsChange, bool) {
	ch, ok := analyticsChangeOf(e)
	ch.Put.At = ch.Put.At.Truncate(FactPrecision)
	if u := ch.Update; u != nil {
		ch.Update = func(f *ConversationFact) { u(f); f.At = f.At.Truncate(FactPrecision) }
	}
	return ch, ok
}

func analyticsChangeOf(e domain.Event) (AnalyticsChange, bool) {
	team := e.TeamID
	switch p := e.Payload.(type) {
	case domain.MessageReceived:
		f := ConversationFact{TeamID: team, ID: p.MessageID, ThreadID: p.ThreadID, ProspectID: p.ProspectID,
			AccountLinkID: p.AccountLinkID, Platform: p.Platform.String(), At: p.SentAt, Counted: true}
		if f.At.IsZero() {
			f.At = e.OccurredAt
		}
		if p.Direction == domain.Inbound {
			f.Kind, f.Actor = FactInbound, ActorProspect
		} else {
			f.Kind = FactOutbound
			f.Actor, f.MemberID = outboundActor(e, p.Automated)
		}
		return AnalyticsChange{Put: f}, true
	case domain.MessageSendRequested:
		f := ConversationFact{TeamID: team, ID: p.MessageID, ThreadID: p.ThreadID, ProspectID: p.ProspectID,
			AccountLinkID: p.AccountLinkID, Platform: p.Platform.String(), Kind: FactOutbound, At: e.OccurredAt, Counted: true}
		f.Actor, f.MemberID = outboundActor(e, false)
		return AnalyticsChange{Put: f}, true
	case domain.MessageSent:
		// The platform's own time of the send, when it tells it (a retried send left later).
		if p.SentAt.IsZero() {
			return AnalyticsChange{}, false
		}
		return AnalyticsChange{MessageID: p.MessageID, Update: func(f *ConversationFact) { f.At, f.Counted = p.SentAt, true }}, true
	case domain.MessageSendFailed:
		if !p.Permanent {
			return AnalyticsChange{}, false
		}
		return AnalyticsChange{MessageID: p.MessageID, Update: func(f *ConversationFact) { f.Counted = false }}, true
	case domain.MessageSendCancelled:
		return AnalyticsChange{MessageID: p.MessageID, Update: func(f *ConversationFact) { f.Counted = false }}, true
	case domain.MessageSendRetried:
		return AnalyticsChange{MessageID: p.MessageID, Update: func(f *ConversationFact) { f.Counted = true }}, true
	case domain.ThreadDone:
		f := ConversationFact{TeamID: team, ID: e.ID, ThreadID: p.ThreadID, ProspectID: p.ProspectID, Kind: FactDone,
			At: e.OccurredAt, Counted: true, Actor: ActorAutomation}
		if m, ok := strings.CutPrefix(e.Actor, "member:"); ok {
			f.Actor, f.MemberID = ActorKindMember, m
		}
		return AnalyticsChange{Put: f}, true
	}
	return AnalyticsChange{}, false
}

var factRank = map[FactKind]int{FactInbound: 0, FactOutbound: 1, FactDone: 2}

// Turns computes a thread's turns from all of its facts (the definition of docs/analytics.md):
//   - facts are taken in platform-time order (ties: inbound, outbound, done; then id);
//   - a turn starts at an inbound message when no turn is open (the thread's first inbound, or
//     the first after the thread was marked done: a reopened thread starts a new turn), and
//     ends when the thread is marked done (its resolution);
//   - a run of inbound messages starts at the first inbound after a reply (or at the turn's
//     start) and ends at the next reply: a reply is an outbound message by a member, an API key
//     or the platform's app, never by an automation; the turn's first reply is its first
//     response;
//   - messages outside any turn (outreach before the first inbound, after a done) count nowhere.
func Turns(facts []ConversationFact) []ConversationTurn {
	var f TurnFold
	f.Add(facts...)
	return f.Turns
}

// FactKey is a fact's place in the platform-time order of its thread.
type FactKey struct {
	At   time.Time
	Kind FactKind
	ID   string
}

// Key is the fact's place in its thread's order.
func (f ConversationFact) Key() FactKey { return FactKey{At: f.At, Kind: f.Kind, ID: f.ID} }

// Compare orders keys as Turns takes facts: by time, then inbound, outbound, done, then id.
func (k FactKey) Compare(o FactKey) int {
	return cmp.Or(k.At.Compare(o.At), cmp.Compare(factRank[k.Kind], factRank[o.Kind]), strings.Compare(k.ID, o.ID))
}

// TurnFold computes a thread's turns fact by fact, in the order Turns takes them: Turns is
// a fold over all of a thread's facts, and the projector resumes one from a ThreadTail when
// new facts all come after the thread's last (the common case: live messages), instead of
// reading every fact of the thread again.
type TurnFold struct {
	// Turns are the turns so far; when resumed, the thread's last turn and the new ones (the
	// last turn's Replies then hold only the replies added since).
	Turns []ConversationTurn
	// Open is whether the last turn is open (a turn started and was not marked done since).
	Open bool
	// RunStart is when the run of inbound messages awaiting a reply began (zero: none).
	RunStart time.Time
	meta     ConversationFact
	hasMeta  bool
}

// Add folds facts into the turns, sorting them first: they must all come after the facts
// already folded.
func (t *TurnFold) Add(facts ...ConversationFact) {
	facts = slices.Clone(facts)
	slices.SortFunc(facts, func(a, b ConversationFact) int { return a.Key().Compare(b.Key()) })
	if !t.hasMeta {
		for _, f := range facts {
			if f.Kind != FactDone {
				t.meta, t.hasMeta = f, true
				break
			}
		}
	}
	for _, f := range facts {
		t.add(f)
	}
}

func (t *TurnFold) add(f ConversationFact) {
	if !f.Counted {
		return
	}
	var cur *ConversationTurn
	if t.Open {
		cur = &t.Turns[len(t.Turns)-1]
	}
	switch f.Kind {
	case FactInbound:
		if cur == nil {
			n := 1
			if len(t.Turns) > 0 {
				n = t.Turns[len(t.Turns)-1].Turn + 1
			}
			t.Turns = append(t.Turns, ConversationTurn{TeamID: t.meta.TeamID, ThreadID: f.ThreadID, Turn: n,
				ProspectID: t.meta.ProspectID, AccountLinkID: t.meta.AccountLinkID, Platform: t.meta.Platform, StartedAt: f.At})
			t.Open = true
			cur = &t.Turns[len(t.Turns)-1]
		}
		cur.Inbound++
		if t.RunStart.IsZero() {
			t.RunStart = f.At
		}
	case FactOutbound:
		if cur == nil {
			return
		}
		if f.Actor == ActorAutomation {
			cur.Automated++
			return
		}
		cur.Outbound++
		if t.RunStart.IsZero() {
			return
		}
		cur.Replies = append(cur.Replies, Reply{InboundAt: t.RunStart, RepliedAt: f.At, MemberID: f.MemberID, Kind: f.Actor})
		if cur.FirstResponseAt.IsZero() {
			cur.FirstResponseAt, cur.FirstResponderMemberID, cur.FirstResponderKind = f.At, f.MemberID, f.Actor
		}
		t.RunStart = time.Time{}
	case FactDone:
		if cur == nil {
			return
		}
		cur.ResolvedAt, cur.ResolvedByMemberID = f.At, f.MemberID
		t.Open, t.RunStart = false, time.Time{}
	}
}

// ThreadTail is where a thread's turns stand after all of its facts so far: what a TurnFold
// needs to go on without reading them again.
type ThreadTail struct {
	// Last is the key of the thread's last fact (counted or not).
	Last FactKey
	// RunStart is when the run of inbound messages awaiting a reply began (zero: none).
	RunStart time.Time
	// Turn is the thread's last turn, without its replies (zero Turn: none yet); Replies is how
	// many replies it has.
	Turn    ConversationTurn
	Replies int
}

// Resume returns a fold that goes on from the tail.
func (tl ThreadTail) Resume() TurnFold {
	var f TurnFold
	if tl.Turn.Turn > 0 {
		f.Turns = []ConversationTurn{tl.Turn}
		f.Open = tl.Turn.ResolvedAt.IsZero()
		f.meta = ConversationFact{TeamID: tl.Turn.TeamID, ProspectID: tl.Turn.ProspectID,
			AccountLinkID: tl.Turn.AccountLinkID, Platform: tl.Turn.Platform}
		f.hasMeta = true
	}
	f.RunStart = tl.RunStart
	return f
}
