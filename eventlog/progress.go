package eventlog

import (
	"context"
	"sync"
	"time"
)

// Progress lets readers wait until a projection has applied a cursor: the projector signals
// each committed batch with its checkpoint, and waiters also poll the stored checkpoint slowly,
// for projectors that run in other processes.
type Progress struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every Moved
	applied Cursor        // the last checkpoint a Moved reported in this process
}

// NewProgress returns a Progress with nothing moved yet.
func NewProgress() *Progress { return &Progress{changed: make(chan struct{})} }

// Moved wakes every waiter: the projection committed a batch up to checkpoint.
func (p *Progress) Moved(checkpoint Cursor) {
	c := Cursor{}
	for k, v := range checkpoint {
		c[k] = v
	}
	p.mu.Lock()
	p.applied = c
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// WaitFor blocks until checkpoint covers c, or ctx ends. What this process's projector
// reported answers most waits without a query; otherwise the stored checkpoint is read at
// every wake and every 50ms, for projectors elsewhere (other partitions, other processes).
func (p *Progress) WaitFor(ctx context.Context, c Cursor, checkpoint func(context.Context) (Cursor, error)) error {
	for {
		p.mu.Lock()
		ch, applied := p.changed, p.applied
		p.mu.Unlock()
		if applied != nil && applied.Covers(c) {
			return nil
		}
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

// Changed returns a channel closed at the next Moved: live readers (watch streams) wait on it
// instead of polling the stored checkpoint.
func (p *Progress) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}
