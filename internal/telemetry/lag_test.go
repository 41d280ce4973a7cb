package telemetry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// Lag counts, per group, the events between its checkpoint and the head over every partition,
// and how long the oldest has waited; a group it cannot measure says so instead.
func TestLag(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	head := eventlog.Cursor{0: 10, 1: 4, 2: 7}
	lag := NewLag(func(context.Context) (eventlog.Cursor, error) { return head, nil },
		Group{Name: "behind", Checkpoint: func(context.Context) (eventlog.Cursor, error) { return eventlog.Cursor{0: 8, 1: 4}, nil }},
		Group{Name: "caught-up", Checkpoint: func(context.Context) (eventlog.Cursor, error) { return head, nil }},
		Group{Name: "broken", Checkpoint: func(context.Context) (eventlog.Cursor, error) { return nil, errors.New("down") }})
	lag.now = func() time.Time { return now }
	lag.applied("behind", now.Add(-90*time.Second))
	got := lag.Measure(context.Background())
	// behind: 2 on partition 0, none on 1, all 8 of partition 2 (offsets 0..7, never read).
	if g := got["behind"]; g.Events != 10 || g.Seconds != 90 {
		t.Errorf("behind: %+v, want 10 events, 90 s", g)
	}
	if g := got["caught-up"]; g != (GroupLag{}) {
		t.Errorf("caught-up: %+v, want zero", g)
	}
	if g := got["broken"]; g.Error == "" {
		t.Errorf("broken: %+v, want an error", g)
	}
}
