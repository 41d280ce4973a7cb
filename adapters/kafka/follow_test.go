package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// followed records what a follower passed to its handler.
type followed struct {
	mu    sync.Mutex
	ids   []string
	types map[string]bool
	asOf  time.Time
	calls int
}

func (f *followed) handle(recs []eventlog.Record, asOf time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	for _, r := range recs {
		f.ids = append(f.ids, r.Event.ID)
		f.types[r.Event.Type()] = true
	}
	if asOf.Before(f.asOf) {
		panic(fmt.Sprintf("caughtUpAsOf went back from %v to %v", f.asOf, asOf))
	}
	f.asOf = asOf
}

func (f *followed) snapshot() ([]string, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ids), f.asOf
}

// A follower started at the log's head gets every event of its types appended after, from
// every partition (three brokers lead them), and none appended before nor of other types; once
// it says it is caught up as of a time, every event acknowledged before that time has been
// passed to it. Another process's log (a second EventLog on the topic) reads it.
func TestFollowFromHead(t *testing.T) {
	cluster := newCluster(t)
	cfg := testConfig(t, cluster.ListenAddrs(), "events-follow", openTestIndex(t))
	writer := openTestLog(t, cfg)
	other := cfg
	other.Index = openTestIndex(t)
	reader := openTestLog(t, other)
	ctx := context.Background()

	revoke := func(team string) domain.Event {
		return eventlogtest.NewEvent(team, team, domain.APIKeyRevoked{KeyID: domain.NewID("key"), Reason: "test"})
	}
	other1 := func(team string) domain.Event {
		return eventlogtest.NewEvent(team, team, domain.TagCreated{TagID: domain.NewID("tag"), Name: "x"})
	}
	var before []domain.Event
	for range 20 { // many teams: many partitions
		team := eventlogtest.NewTeamID()
		before = append(before, revoke(team), other1(team))
	}
	if _, err := writer.Append(ctx, before); err != nil {
		t.Fatal(err)
	}
	head, err := reader.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &followed{types: map[string]bool{}}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- reader.Follow(fctx, head, []string{domain.TypeAPIKeyRevoked}, f.handle) }()

	var want []string
	for round := range 3 {
		var batch []domain.Event
		for range 10 {
			team := eventlogtest.NewTeamID()
			r := revoke(team)
			batch = append(batch, r, other1(team))
			want = append(want, r.ID)
		}
		if _, err := writer.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		acked := time.Now()
		// Caught up as of a time after the append was acknowledged: it holds every event.
		waitUntil(t, fmt.Sprintf("round %d: the follower caught up past the append", round), 10*time.Second, func() bool {
			_, asOf := f.snapshot()
			return asOf.After(acked)
		})
		got, _ := f.snapshot()
		for _, id := range want {
			if !slices.Contains(got, id) {
				t.Fatalf("round %d: caught up after the append, but revocation %s was not passed (got %d of %d)", round, id, len(got), len(want))
			}
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Follow after its context ended: %v, want context.Canceled", err)
	}
	got, _ := f.snapshot()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("followed %d events, want the %d revocations appended after the head, each once", len(got), len(want))
	}
	if len(f.types) != 1 || !f.types[domain.TypeAPIKeyRevoked] {
		t.Errorf("followed types %v, want only %s", f.types, domain.TypeAPIKeyRevoked)
	}
	for _, e := range before {
		if slices.Contains(got, e.ID) {
			t.Fatalf("event %s appended before the head was followed", e.ID)
		}
	}
}

// While Kafka is gone the follower's caught-up time stops: it never claims a read it did not
// make. It reads again, from where it was, when Kafka is back (the log is closed here
// instead: Follow then returns ErrClosed).
func TestFollowStopsConfirmingWhenKafkaIsGone(t *testing.T) {
	cluster := newCluster(t)
	cfg := testConfig(t, cluster.ListenAddrs(), "events-follow-gone", openTestIndex(t))
	l := openTestLog(t, cfg)
	f := &followed{types: map[string]bool{}}
	done := make(chan error, 1)
	go func() { done <- l.Follow(context.Background(), eventlog.Cursor{}, nil, f.handle) }()
	waitUntil(t, "the follower caught up", 10*time.Second, func() bool {
		_, asOf := f.snapshot()
		return !asOf.IsZero()
	})
	cluster.Close()
	gone := time.Now()
	// Some fetches were in flight, and more are retried: none may confirm anything after.
	f.mu.Lock()
	calls := f.calls
	f.mu.Unlock()
	waitUntil(t, "a few more attempts", 10*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.calls > calls || time.Since(gone) > 2*followWait
	})
	if _, asOf := f.snapshot(); !asOf.Before(gone) {
		t.Errorf("caught up as of %v, after Kafka was gone at %v", asOf, gone)
	}
	_ = l.Close()
	if err := <-done; !errors.Is(err, eventlog.ErrClosed) {
		t.Errorf("Follow after the log closed: %v, want ErrClosed", err)
	}
}
