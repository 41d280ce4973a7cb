package search

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// Swappable is an Index whose underlying index can be replaced while it serves: every call goes
// to the index current when it began, and Swap returns once no call uses the previous one, so
// it can be closed. It is how an embedded index rebuilt beside the serving one (blue/green)
// takes over without a failed search.
type Swappable struct {
	cur atomic.Pointer[swapGen]
}

type swapGen struct {
	Index
	calls atomic.Int64
}

// NewSwappable serves idx until the first Swap.
func NewSwappable(idx Index) *Swappable {
	w := &Swappable{}
	w.cur.Store(&swapGen{Index: idx})
	return w
}

// Current is the index calls go to now.
func (w *Swappable) Current() Index { return w.cur.Load().Index }

// Swap makes next the index of every new call and waits until the calls still running on the
// previous one have returned (or ctx is done); it returns the previous index, to close.
func (w *Swappable) Swap(ctx context.Context, next Index) (Index, error) {
	old := w.cur.Swap(&swapGen{Index: next})
	for old.calls.Load() > 0 {
		select {
		case <-ctx.Done():
			return old.Index, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return old.Index, nil
}

func (w *Swappable) acquire() *swapGen {
	for {
		g := w.cur.Load()
		g.calls.Add(1)
		if w.cur.Load() == g {
			return g
		}
		g.calls.Add(-1)
	}
}

func (g *swapGen) release() { g.calls.Add(-1) }

func (w *Swappable) Put(ctx context.Context, docs []Doc) error {
	g := w.acquire()
	defer g.release()
	return g.Put(ctx, docs)
}

func (w *Swappable) Get(ctx context.Context, teamID, messageID string) (Doc, bool, error) {
	g := w.acquire()
	defer g.release()
	return g.Get(ctx, teamID, messageID)
}

func (w *Swappable) Delete(ctx context.Context, teamID string, messageIDs []string) error {
	g := w.acquire()
	defer g.release()
	return g.Delete(ctx, teamID, messageIDs)
}

func (w *Swappable) Search(ctx context.Context, q Query) (Result, error) {
	g := w.acquire()
	defer g.release()
	return g.Search(ctx, q)
}

func (w *Swappable) Checkpoint(ctx context.Context) (eventlog.Cursor, error) {
	g := w.acquire()
	defer g.release()
	return g.Checkpoint(ctx)
}

func (w *Swappable) SetCheckpoint(ctx context.Context, c eventlog.Cursor) error {
	g := w.acquire()
	defer g.release()
	return g.SetCheckpoint(ctx, c)
}

func (w *Swappable) Ping(ctx context.Context) error {
	g := w.acquire()
	defer g.release()
	return g.Ping(ctx)
}

// Close closes the current index.
func (w *Swappable) Close() error { return w.cur.Load().Close() }
