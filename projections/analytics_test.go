package projections

import (
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

func TestOutboundActorKinds(t *testing.T) {
	received := func(actor string, automated bool) domain.Event {
		return domain.Event{TeamID: "team_1", Actor: actor, Payload: domain.MessageReceived{MessageID: "msg_1",
			Direction: domain.Outbound, SentAt: time.Unix(100, 0), Automated: automated}}
	}
	for _, c := range []struct {
		name   string
		e      domain.Event
		kind   ActorKind
		member string
	}{
		{"sent from Switchboard by a member", domain.Event{Actor: "member:mem_1", Payload: domain.MessageSendRequested{MessageID: "msg_1"}}, ActorKindMember, "mem_1"},
		{"ingested with a member's key", received("member:mem_2", false), ActorAPIKey, "mem_2"},
		{"ingested and marked automated", received("member:mem_2", true), ActorAutomation, ""},
		{"written in the platform's app (echo)", received("platform:messenger", false), ActorPlatformApp, ""},
		{"written by Switchboard itself", received("system", false), ActorAutomation, ""},
		{"sent by the system", domain.Event{Actor: "system", Payload: domain.MessageSendRequested{MessageID: "msg_1"}}, ActorAutomation, ""},
	} {
		ch, ok := AnalyticsChangeOf(c.e)
		if !ok || ch.Put.Kind != FactOutbound || ch.Put.Actor != c.kind || ch.Put.MemberID != c.member {
			t.Errorf("%s: %+v, want an outbound fact of %s by %q", c.name, ch.Put, c.kind, c.member)
		}
	}
}

func TestTurns(t *testing.T) {
	at := func(s int) time.Time {
		return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).Add(time.Duration(s) * time.Second)
	}
	f := func(id string, kind FactKind, actor ActorKind, s int) ConversationFact {
		return ConversationFact{ID: id, ThreadID: "thr_1", Kind: kind, Actor: actor, At: at(s), Counted: true, MemberID: "mem_" + id}
	}
	failed := f("o2", FactOutbound, ActorKindMember, 50)
	failed.Counted = false
	facts := []ConversationFact{
		f("o0", FactOutbound, ActorKindMember, -100), // outreach before any inbound: no turn
		f("d0", FactDone, ActorKindMember, -50),      // done with no turn open: nothing
		f("i1", FactInbound, ActorProspect, 0),
		failed, // a reply that never left
		f("o3", FactOutbound, ActorPlatformApp, 70),
		f("o4", FactOutbound, ActorPlatformApp, 80), // a second reply in a row: no inbound awaits it
		f("i2", FactInbound, ActorProspect, 100),
		f("d1", FactDone, ActorKindMember, 400),
		f("d2", FactDone, ActorKindMember, 500), // done again: the turn already ended
		f("i3", FactInbound, ActorProspect, 600),
	}
	// Given in reverse: the order of arrival does not matter.
	for i, j := 0, len(facts)-1; i < j; i, j = i+1, j-1 {
		facts[i], facts[j] = facts[j], facts[i]
	}
	turns := Turns(facts)
	if len(turns) != 2 {
		t.Fatalf("%d turns, want 2: %+v", len(turns), turns)
	}
	t1 := turns[0]
	if d, ok := t1.FirstResponse(); !ok || d != 70*time.Second || t1.FirstResponderKind != ActorPlatformApp {
		t.Errorf("first response %v %v by %s, want 70s by platform_app", d, ok, t1.FirstResponderKind)
	}
	if d, ok := t1.Resolution(); !ok || d != 400*time.Second || t1.ResolvedByMemberID != "mem_d1" {
		t.Errorf("resolution %v %v by %s, want 400s by mem_d1", d, ok, t1.ResolvedByMemberID)
	}
	if len(t1.Replies) != 1 || t1.Inbound != 2 || t1.Outbound != 2 {
		t.Errorf("turn 1: %d replies, %d in, %d out; want 1, 2, 2 (i2 is unanswered at done)", len(t1.Replies), t1.Inbound, t1.Outbound)
	}
	t2 := turns[1]
	if _, ok := t2.FirstResponse(); ok || t2.Turn != 2 || !t2.StartedAt.Equal(at(600)) {
		t.Errorf("turn 2: %+v, want an unanswered turn 2 started at 600s", t2)
	}
}

func TestPercentileCont(t *testing.T) {
	// PostgreSQL: SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY x) FROM (VALUES (90),(120),(200),(300)) v(x) = 270.
	if got := PercentileCont([]float64{90, 120, 200, 300}, 0.9); got != 270 {
		t.Errorf("p90 %v, want 270", got)
	}
	if got := PercentileCont([]float64{90, 120, 200, 300}, 0.5); got != 160 {
		t.Errorf("median %v, want 160", got)
	}
	if got := PercentileCont([]float64{42}, 0.9); got != 42 {
		t.Errorf("p90 of one %v, want 42", got)
	}
}
