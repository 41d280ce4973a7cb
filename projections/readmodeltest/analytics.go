package readmodeltest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

// Analytics checks the analytics projector on a store: random histories of a few threads
// (live messages, backfilled ones landing between them, ties on a second and under a
// microsecond, replies that fail, are cancelled and retried, done, redeliveries), applied in
// random batches, must leave exactly the turns that Turns computes from all facts at once.
// open must return a new, empty store each time.
func Analytics(t *testing.T, open func(t *testing.T) projections.AnalyticsStore) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			analyticsHistory(t, open(t), seed)
		})
	}
}

func analyticsHistory(t *testing.T, s projections.AnalyticsStore, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 99))
	team := domain.NewID(domain.PrefixTeam)
	threads := make([]string, 4)
	for i := range threads {
		threads[i] = domain.NewID(domain.PrefixThread)
	}
	base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	clock := make([]time.Time, len(threads)) // each thread's live time
	for i := range clock {
		clock[i] = base
	}
	var events []domain.Event
	var sends []domain.Event // MessageSendRequested so far
	n := 0
	id := func(p string) string { n++; return fmt.Sprintf("%s_%06d", p, n) }
	for len(events) < 400 {
		i := rng.IntN(len(threads))
		thr := threads[i]
		prospect := "pro_" + thr
		// Mostly live (later than all of the thread's), sometimes backfilled (earlier), sometimes
		// on the same second, sometimes under a microsecond later.
		at := clock[i]
		switch r := rng.IntN(20); {
		case r < 12:
			at = at.Add(time.Duration(1+rng.IntN(600)) * time.Second)
		case r < 14:
			at = at.Add(-time.Duration(1+rng.IntN(3000)) * time.Second)
		case r < 16:
			// the same time
		case r < 17:
			at = at.Add(time.Duration(1+rng.IntN(999)) * time.Nanosecond)
		default:
			at = at.Add(time.Duration(1+rng.IntN(5)) * time.Microsecond)
		}
		if at.After(clock[i]) {
			clock[i] = at
		}
		e := domain.Event{ID: id("evt"), TeamID: team, Key: prospect, OccurredAt: at, Actor: "platform:messenger"}
		switch r := rng.IntN(20); {
		case r < 8:
			e.Payload = domain.MessageReceived{MessageID: id("msg"), ThreadID: thr, ProspectID: prospect, AccountLinkID: "acc_1",
				Platform: domain.PlatformMessenger, Direction: domain.Inbound, SentAt: at}
		case r < 12:
			if rng.IntN(4) == 0 {
				e.Actor = "system" // an automation
			} else if rng.IntN(2) == 0 {
				e.Actor = domain.ActorMember("mem_" + fmt.Sprint(rng.IntN(3)))
			}
			e.Payload = domain.MessageReceived{MessageID: id("msg"), ThreadID: thr, ProspectID: prospect, AccountLinkID: "acc_1",
				Platform: domain.PlatformMessenger, Direction: domain.Outbound, SentAt: at}
		case r < 15:
			e.Actor = domain.ActorMember("mem_" + fmt.Sprint(rng.IntN(3)))
			e.Payload = domain.MessageSendRequested{MessageID: id("msg"), ThreadID: thr, ProspectID: prospect,
				AccountLinkID: "acc_1", Platform: domain.PlatformMessenger}
			sends = append(sends, e)
		case r < 18 && len(sends) > 0:
			sr := sends[rng.IntN(len(sends))].Payload.(domain.MessageSendRequested)
			switch rng.IntN(4) {
			case 0:
				e.Payload = domain.MessageSent{MessageID: sr.MessageID, ThreadID: sr.ThreadID, SentAt: at.Add(time.Duration(rng.IntN(5)) * time.Second)}
			case 1:
				e.Payload = domain.MessageSendFailed{MessageID: sr.MessageID, ThreadID: sr.ThreadID, Permanent: true}
			case 2:
				e.Payload = domain.MessageSendCancelled{MessageID: sr.MessageID, ThreadID: sr.ThreadID}
			default:
				e.Payload = domain.MessageSendRetried{MessageID: sr.MessageID, ThreadID: sr.ThreadID}
			}
		case r < 19:
			e.Actor = domain.ActorMember("mem_1")
			e.Payload = domain.ThreadDone{ThreadID: thr, ProspectID: prospect}
		default:
			if len(sends) == 0 {
				continue
			}
			// The platform's echo of our own reply: the fact is known, nothing changes.
			sr := sends[rng.IntN(len(sends))].Payload.(domain.MessageSendRequested)
			e.Payload = domain.MessageReceived{MessageID: sr.MessageID, ThreadID: thr, ProspectID: prospect, AccountLinkID: "acc_1",
				Platform: domain.PlatformMessenger, Direction: domain.Outbound, SentAt: at}
		}
		events = append(events, e)
	}

	// The reference: the facts as the projector keeps them, and Turns over all of them.
	facts := map[string]projections.ConversationFact{}
	want := func() map[string][]projections.ConversationTurn {
		by := map[string][]projections.ConversationFact{}
		for _, f := range facts {
			by[f.ThreadID] = append(by[f.ThreadID], f)
		}
		out := map[string][]projections.ConversationTurn{}
		for thr, fs := range by {
			if turns := projections.Turns(fs); len(turns) > 0 {
				out[thr] = turns
			}
		}
		return out
	}
	p := projections.NewAnalyticsProjector(nil, s, nil, "")
	applied := 0 // the reference has applied events[:applied]
	for start := 0; start < len(events); {
		end := min(len(events), start+1+rng.IntN(25))
		var recs []eventlog.Record
		for k := start; k < end; k++ {
			e := events[k]
			recs = append(recs, eventlog.Record{Position: eventlog.Position{Offset: int64(k)}, Event: e})
			if k < applied {
				continue // redelivered: the projector's checkpoint skips it
			}
			applied = k + 1
			ch, ok := projections.AnalyticsChangeOf(e)
			switch {
			case !ok:
			case ch.Update != nil:
				if f, ok := facts[ch.MessageID]; ok {
					ch.Update(&f)
					facts[ch.MessageID] = f
				}
			default:
				if _, ok := facts[ch.Put.ID]; !ok {
					facts[ch.Put.ID] = ch.Put
				}
			}
		}
		if err := p.Handle(ctx, recs); err != nil {
			t.Fatal(err)
		}
		// The next batch sometimes redelivers the end of this one (at-least-once delivery).
		start = max(start+1, end-rng.IntN(3))
		got, err := s.ConversationTurns(ctx, projections.TurnQuery{TeamID: team, From: base.Add(-24 * time.Hour), To: base.Add(30 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		gotBy := map[string][]projections.ConversationTurn{}
		for _, tn := range got {
			gotBy[tn.ThreadID] = append(gotBy[tn.ThreadID], tn)
		}
		for thr, wt := range want() {
			g := gotBy[thr]
			if len(g) != len(wt) {
				t.Fatalf("after event %d, thread %s: %d turns, want %d:\n got %+v\nwant %+v", end, thr, len(g), len(wt), g, wt)
			}
			for k := range wt {
				if d := turnDiff(g[k], wt[k]); d != "" {
					t.Fatalf("after event %d, thread %s, turn %d: %s\n got %+v\nwant %+v", end, thr, wt[k].Turn, d, g[k], wt[k])
				}
			}
			delete(gotBy, thr)
		}
		for thr, g := range gotBy {
			t.Fatalf("after event %d, thread %s has %d turns, want none", end, thr, len(g))
		}
	}
}

// turnDiff names the first figure in which two turns differ ("" if none): what the queries
// of every store return (reply times, not their repliers, which PostgreSQL does not list).
func turnDiff(g, w projections.ConversationTurn) string {
	eq := func(a, b time.Time) bool { return a.Equal(b) }
	switch {
	case g.Turn != w.Turn:
		return "turn number"
	case !eq(g.StartedAt, w.StartedAt):
		return "started_at"
	case !eq(g.FirstResponseAt, w.FirstResponseAt) || g.FirstResponderMemberID != w.FirstResponderMemberID || g.FirstResponderKind != w.FirstResponderKind:
		return "first response"
	case !eq(g.ResolvedAt, w.ResolvedAt) || g.ResolvedByMemberID != w.ResolvedByMemberID:
		return "resolution"
	case g.Inbound != w.Inbound || g.Outbound != w.Outbound || g.Automated != w.Automated:
		return "counts"
	case g.ProspectID != w.ProspectID || g.AccountLinkID != w.AccountLinkID || g.Platform != w.Platform:
		return "prospect, link or platform"
	case len(g.Replies) != len(w.Replies):
		return fmt.Sprintf("%d replies, want %d", len(g.Replies), len(w.Replies))
	}
	for i := range w.Replies {
		if !eq(g.Replies[i].InboundAt, w.Replies[i].InboundAt) || !eq(g.Replies[i].RepliedAt, w.Replies[i].RepliedAt) {
			return fmt.Sprintf("reply %d", i+1)
		}
	}
	return ""
}
