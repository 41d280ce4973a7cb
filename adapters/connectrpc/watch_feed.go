package connectrpc

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// ReadModelProgress is how far the read model has applied the log, as watch streams follow
// it: Applied reads the stored checkpoint (whichever process projects), Changed is closed when
// this process's projector commits a batch.
type ReadModelProgress interface {
	Applied(ctx context.Context) (eventlog.Cursor, error)
	Changed() <-chan struct{}
}

// progressFeed shares the read model's progress between every watch stream of the process:
// one reader of the checkpoint, woken by the projector in this process and polling for the
// projectors of other processes (--roles), whatever the number of streams. It runs only while
// a stream is open, and never makes the projector wait: the projector only closes a channel.
type progressFeed struct {
	src    ReadModelProgress
	poll   time.Duration
	logger *slog.Logger

	mu      sync.Mutex
	applied eventlog.Cursor
	changed chan struct{}
	subs    int
	quit    chan struct{}
}

func newProgressFeed(src ReadModelProgress, poll time.Duration, logger *slog.Logger) *progressFeed {
	return &progressFeed{src: src, poll: poll, logger: logger, applied: eventlog.Cursor{}, changed: make(chan struct{})}
}

// subscribe keeps the feed running until release.
func (f *progressFeed) subscribe() (release func()) {
	f.mu.Lock()
	f.subs++
	if f.subs == 1 {
		f.quit = make(chan struct{})
		go f.run(f.quit)
	}
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.subs--; f.subs == 0 {
				close(f.quit)
			}
		})
	}
}

// state returns what the read model has applied, and a channel closed when that moves.
func (f *progressFeed) state() (eventlog.Cursor, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied, f.changed
}

func (f *progressFeed) run(quit chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t := time.NewTicker(f.poll)
	defer t.Stop()
	for {
		wake := f.src.Changed() // taken before reading: a commit in between still wakes us
		cp, err := f.src.Applied(ctx)
		if err != nil {
			f.logger.Warn("watch streams: read model checkpoint unreadable, retrying", "err", err)
		} else {
			f.mu.Lock()
			if !f.applied.Covers(cp) {
				next := eventlog.Cursor{}
				for p, o := range f.applied {
					next[p] = o
				}
				for p, o := range cp {
					next.Advance(eventlog.Position{Partition: p, Offset: o})
				}
				f.applied = next
				close(f.changed)
				f.changed = make(chan struct{})
			}
			f.mu.Unlock()
		}
		select {
		case <-quit:
			return
		case <-wake:
		case <-t.C:
		}
	}
}
