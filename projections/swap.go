package projections

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// Swappable is a Store whose underlying store can be replaced while it serves: every call goes
// to the store current when it began, and Swap returns once no call uses the previous one, so
// it can be closed. It is how a read model rebuilt beside the serving one (blue/green) takes
// over without a failed or torn read.
type Swappable struct {
	cur atomic.Pointer[swapGen]
}

type swapGen struct {
	Store
	calls atomic.Int64
}

// NewSwappable serves s until the first Swap.
func NewSwappable(s Store) *Swappable {
	w := &Swappable{}
	w.cur.Store(&swapGen{Store: s})
	return w
}

// Current is the store calls go to now.
func (w *Swappable) Current() Store { return w.cur.Load().Store }

// Swap makes next the store of every new call and waits until the calls still running on the
// previous one have returned (or ctx is done); it returns the previous store, for the caller
// to close.
func (w *Swappable) Swap(ctx context.Context, next Store) (Store, error) {
	old := w.cur.Swap(&swapGen{Store: next})
	for old.calls.Load() > 0 {
		select {
		case <-ctx.Done():
			return old.Store, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return old.Store, nil
}

// acquire returns the current generation, counted until release: a Swap that began after the
// load is seen again, so a call never runs on a store Swap has handed back.
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

// State is the current store's State (a SQLite read model being rebuilt after corruption).
func (w *Swappable) State() error {
	g := w.acquire()
	defer g.release()
	if st, ok := g.Store.(interface{ State() error }); ok {
		return st.State()
	}
	return nil
}

// Versions lists the current store's projection versions (VersionLister).
func (w *Swappable) Versions(ctx context.Context) ([]string, error) {
	g := w.acquire()
	defer g.release()
	if l, ok := g.Store.(VersionLister); ok {
		return l.Versions(ctx)
	}
	return nil, nil
}

func (w *Swappable) Update(ctx context.Context, fn func(tx Tx) error) error {
	g := w.acquire()
	defer g.release()
	return g.Update(ctx, fn)
}

func (w *Swappable) Checkpoint(ctx context.Context, projection string) (eventlog.Cursor, error) {
	g := w.acquire()
	defer g.release()
	return g.Checkpoint(ctx, projection)
}

func (w *Swappable) Reset(ctx context.Context) error {
	g := w.acquire()
	defer g.release()
	return g.Reset(ctx)
}

func (w *Swappable) Ping(ctx context.Context) error {
	g := w.acquire()
	defer g.release()
	return g.Ping(ctx)
}

// Close closes the current store.
func (w *Swappable) Close() error { return w.cur.Load().Close() }

func (w *Swappable) Team(ctx context.Context, id string) (Team, error) {
	g := w.acquire()
	defer g.release()
	return g.Team(ctx, id)
}

func (w *Swappable) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	g := w.acquire()
	defer g.release()
	return g.APIKeyByHash(ctx, hash)
}

func (w *Swappable) APIKeys(ctx context.Context, teamID string) ([]APIKey, error) {
	g := w.acquire()
	defer g.release()
	return g.APIKeys(ctx, teamID)
}

func (w *Swappable) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	g := w.acquire()
	defer g.release()
	return g.TouchAPIKeys(ctx, used)
}

func (w *Swappable) CountAPIKeys(ctx context.Context) (int, error) {
	g := w.acquire()
	defer g.release()
	return g.CountAPIKeys(ctx)
}

func (w *Swappable) Member(ctx context.Context, teamID, id string) (Member, error) {
	g := w.acquire()
	defer g.release()
	return g.Member(ctx, teamID, id)
}

func (w *Swappable) Members(ctx context.Context, teamID string) ([]Member, error) {
	g := w.acquire()
	defer g.release()
	return g.Members(ctx, teamID)
}

func (w *Swappable) Tag(ctx context.Context, teamID, id string) (Tag, error) {
	g := w.acquire()
	defer g.release()
	return g.Tag(ctx, teamID, id)
}

func (w *Swappable) Tags(ctx context.Context, teamID string) ([]Tag, error) {
	g := w.acquire()
	defer g.release()
	return g.Tags(ctx, teamID)
}

func (w *Swappable) Status(ctx context.Context, teamID, id string) (Status, error) {
	g := w.acquire()
	defer g.release()
	return g.Status(ctx, teamID, id)
}

func (w *Swappable) Statuses(ctx context.Context, teamID string) ([]Status, error) {
	g := w.acquire()
	defer g.release()
	return g.Statuses(ctx, teamID)
}

func (w *Swappable) AccountLink(ctx context.Context, teamID, id string) (AccountLink, error) {
	g := w.acquire()
	defer g.release()
	return g.AccountLink(ctx, teamID, id)
}

func (w *Swappable) AccountLinks(ctx context.Context, teamID string) ([]AccountLink, error) {
	g := w.acquire()
	defer g.release()
	return g.AccountLinks(ctx, teamID)
}

func (w *Swappable) AccountLinkByID(ctx context.Context, id string) (AccountLink, error) {
	g := w.acquire()
	defer g.release()
	return g.AccountLinkByID(ctx, id)
}

func (w *Swappable) ActiveAccountLinks(ctx context.Context, platforms []string) ([]AccountLink, error) {
	g := w.acquire()
	defer g.release()
	return g.ActiveAccountLinks(ctx, platforms)
}

func (w *Swappable) Prospect(ctx context.Context, teamID, id string) (Prospect, error) {
	g := w.acquire()
	defer g.release()
	return g.Prospect(ctx, teamID, id)
}

func (w *Swappable) Prospects(ctx context.Context, q ProspectQuery) ([]Prospect, error) {
	g := w.acquire()
	defer g.release()
	return g.Prospects(ctx, q)
}

func (w *Swappable) ProspectTags(ctx context.Context, teamID string, prospectIDs []string) (map[string][]Tag, error) {
	g := w.acquire()
	defer g.release()
	return g.ProspectTags(ctx, teamID, prospectIDs)
}

func (w *Swappable) Thread(ctx context.Context, teamID, id string) (Thread, error) {
	g := w.acquire()
	defer g.release()
	return g.Thread(ctx, teamID, id)
}

func (w *Swappable) Threads(ctx context.Context, q ThreadQuery) ([]Thread, error) {
	g := w.acquire()
	defer g.release()
	return g.Threads(ctx, q)
}

func (w *Swappable) Message(ctx context.Context, teamID, id string) (Message, error) {
	g := w.acquire()
	defer g.release()
	return g.Message(ctx, teamID, id)
}

func (w *Swappable) MessagesByID(ctx context.Context, teamID string, ids []string) (map[string]Message, error) {
	g := w.acquire()
	defer g.release()
	return g.MessagesByID(ctx, teamID, ids)
}

func (w *Swappable) Messages(ctx context.Context, q MessageQuery) ([]Message, error) {
	g := w.acquire()
	defer g.release()
	return g.Messages(ctx, q)
}
