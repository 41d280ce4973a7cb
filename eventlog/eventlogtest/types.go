package eventlogtest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// typeCases are the cases of ConsumeTypes, run with the others.
var typeCases = []struct {
	name string
	fn   func(t *testing.T, f Factory)
}{
	{"ConsumeTypesDeliversOnlyThoseTypes", testConsumeTypesDeliversOnlyThoseTypes},
	{"ConsumeTypesCheckpointPassesOtherTypes", testConsumeTypesCheckpointPassesOtherTypes},
}

// seenEvent is a small event of another type than threadEvent's.
func seenEvent(team, prospectID string) domain.Event {
	return NewEvent(team, prospectID, domain.ThreadSeen{ThreadID: "thr_seen", ProspectID: prospectID, SeenAt: time.Now().UTC().Truncate(time.Second)})
}

func startTypedConsumer(t *testing.T, log eventlog.Log, group string, types []string, h eventlog.Handler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := log.ConsumeTypes(ctx, group, types, h)
		if ctx.Err() == nil {
			t.Errorf("ConsumeTypes(%s) returned before it was stopped: %v", group, err)
		}
		c.done <- err
	}()
	t.Cleanup(func() { c.stopQuietly() })
	return c
}

func testConsumeTypesDeliversOnlyThoseTypes(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	keys := []string{domain.NewID(domain.PrefixProspect), domain.NewID(domain.PrefixProspect)}
	var want []domain.Event
	for i := range 10 {
		key := keys[i%2]
		read := threadEvent(team, key, i)
		mustAppend(t, log, seenEvent(team, key), read, seenEvent(team, key))
		want = append(want, read)
	}
	typ := want[0].Type()
	c := &collector{team: team}
	cons := startTypedConsumer(t, log, newGroup("types"), []string{typ}, c.handle)
	c.waitForCount(t, len(want))
	// Appended after the consumer caught up: delivered live, still filtered.
	for _, key := range keys {
		read := threadEvent(team, key, 99)
		mustAppend(t, log, seenEvent(team, key), read)
		want = append(want, read)
	}
	c.waitForCount(t, len(want))
	cons.stop(t)
	got := c.snapshot()
	for _, r := range got {
		if r.Event.Type() != typ {
			t.Fatalf("ConsumeTypes(%s) delivered an event of type %s", typ, r.Event.Type())
		}
	}
	assertSameSet(t, "delivered", ids(got), eventIDs(want))
	assertKeyOrder(t, got, want)
}

func testConsumeTypesCheckpointPassesOtherTypes(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	key := domain.NewID(domain.PrefixProspect)
	group := newGroup("types-checkpoint")
	first := threadEvent(team, key, 1)
	mustAppend(t, log, first, seenEvent(team, key))
	typ := first.Type()

	c := &collector{team: team}
	cons := startTypedConsumer(t, log, group, []string{typ}, c.handle)
	c.waitForCount(t, 1)
	cons.stop(t)

	// Only other types, then one of the group's: a restarted consumer gets that one alone, the
	// first never again.
	for range 5 {
		mustAppend(t, log, seenEvent(team, key))
	}
	second := threadEvent(team, key, 2)
	mustAppend(t, log, second)
	c2 := &collector{team: team}
	log = f.Reopen(t, log)
	cons = startTypedConsumer(t, log, group, []string{typ}, c2.handle)
	c2.waitForCount(t, 1)
	// Give a wrong redelivery the chance to show: anything more arrives with the next batch.
	mustAppend(t, log, threadEvent(team, key, 3))
	c2.waitForCount(t, 2)
	cons.stop(t)
	got := ids(c2.snapshot())
	if len(got) < 1 || got[0] != second.ID {
		t.Fatalf("after a restart the group got %v first, want %s (the first event, %s, was handled before)", got, second.ID, first.ID)
	}
	for _, id := range got {
		if id == first.ID {
			t.Fatalf("the group got %s again after a restart", first.ID)
		}
	}
}
