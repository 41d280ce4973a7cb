package connectrpc

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// fakeProgress is a read model whose checkpoint a test moves, with or without telling.
type fakeProgress struct {
	mu      sync.Mutex
	applied eventlog.Cursor
	changed chan struct{}
}

func (f *fakeProgress) Applied(context.Context) (eventlog.Cursor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return eventlog.Cursor{0: f.applied[0]}, nil
}

func (f *fakeProgress) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// move sets the checkpoint; notify says so as this process's projector does.
func (f *fakeProgress) move(off int64, notify bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = eventlog.Cursor{0: off}
	if notify {
		close(f.changed)
		f.changed = make(chan struct{})
	}
}

// waitApplied waits until the feed reports at least off.
func waitApplied(t *testing.T, f *progressFeed, off int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		applied, wake := f.state()
		if applied.Covers(eventlog.Cursor{0: off}) {
			return
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("the feed reports %s, want 0-%d", applied, off)
		}
	}
}

// TestProgressFeedFollowsProjector: the feed wakes its streams when this process's projector
// commits, without polling (its poll here is an hour), and by polling when a projector of
// another process moves the stored checkpoint without telling.
func TestProgressFeedFollowsProjector(t *testing.T) {
	src := &fakeProgress{applied: eventlog.Cursor{0: 1}, changed: make(chan struct{})}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	notified := newProgressFeed(src, time.Hour, logger)
	release := notified.subscribe()
	waitApplied(t, notified, 1)
	src.move(5, true)
	waitApplied(t, notified, 5)
	release()

	polled := newProgressFeed(src, 10*time.Millisecond, logger)
	defer polled.subscribe()()
	waitApplied(t, polled, 5)
	src.move(9, false)
	waitApplied(t, polled, 9)
}

// TestWatchPositions: positions round-trip through their one encoding; garbage is refused
// naming the field.
func TestWatchPositions(t *testing.T) {
	c := eventlog.Cursor{0: 12, 3: 7}
	p, err := NewPositions([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Positions: p}
	got, err := d.Positions.Decode("team_a", "after_position", d.Positions.Encode("team_a", c))
	if err != nil || !got.Covers(c) || !c.Covers(got) {
		t.Fatalf("round trip of %s: %v, %v", c, got, err)
	}
	if _, err := d.Positions.Decode("team_a", "after_position", "tomorrow"); err == nil || !strings.Contains(err.Error(), "after_position") {
		t.Fatalf("garbage: %v, want an error naming after_position", err)
	}
}
