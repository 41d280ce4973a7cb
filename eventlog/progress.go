package eventlog

import (
	"context"
	"sync"
	"time"
)

// Progress lets readers wait until a projection has applied a cursor: the projector signals
// each committed batch, and waiters also poll its checkpoint slowly, for projectors that run
// in other processes.
type Progress struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every Moved
}

// NewProgress returns a Progress with nothing moved yet.
func NewProgress() *Progress { return &Progress{changed: make(chan struct{})} }

// Moved wakes every waiter: the projection committed a batch.
func (p *Progress) Moved() {
	p.mu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// WaitFor blocks until checkpoint covers c, or ctx ends.
func (p *Progress) WaitFor(ctx context.Context, c Cursor, checkpoint func(context.Context) (Cursor, error)) error {
	for {
		p.mu.Lock()
		ch := p.changed
		p.mu.Unlock()
		cp, err := checkpoint(ctx)
		if err != nil {
			return err
		}
		if cp.Covers(c) {
			return nil
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}
