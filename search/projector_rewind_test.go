package search

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// swapIndex is the live index behind an alias: a reindex replaces it under a running projector.
type swapIndex struct {
	mu  sync.Mutex
	cur *memIndex
}

func (s *swapIndex) get() *memIndex   { s.mu.Lock(); defer s.mu.Unlock(); return s.cur }
func (s *swapIndex) swap(m *memIndex) { s.mu.Lock(); s.cur = m; s.mu.Unlock() }

func (s *swapIndex) Put(ctx context.Context, d []Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Put(ctx, d)
}
func (s *swapIndex) Get(ctx context.Context, team, id string) (Doc, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Get(ctx, team, id)
}
func (s *swapIndex) Delete(ctx context.Context, team string, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Delete(ctx, team, ids)
}
func (s *swapIndex) Search(ctx context.Context, q Query) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Search(ctx, q)
}
func (s *swapIndex) Checkpoint(ctx context.Context) (eventlog.Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Checkpoint(ctx)
}
func (s *swapIndex) SetCheckpoint(ctx context.Context, c eventlog.Cursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.SetCheckpoint(ctx, c)
}
func (s *swapIndex) Ping(context.Context) error { return nil }
func (s *swapIndex) Close() error               { return nil }

// TestProjectorFollowsAReplacedIndex: when a reindex puts a new index behind the alias while the
// projector runs, the projector resumes from the new index's checkpoint: nothing written to the
// old index after the new one was filled is missing from the new one.
func TestProjectorFollowsAReplacedIndex(t *testing.T) {
	log, err := sqlite.OpenEventLog(filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	team := domain.NewID(domain.PrefixTeam)
	appendMsgs := func(ids ...string) eventlog.Cursor {
		t.Helper()
		var events []domain.Event
		now := time.Now().UTC()
		for _, id := range ids {
			events = append(events, domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: team, Key: "prs_x",
				OccurredAt: now, RecordedAt: now, Actor: domain.ActorSystem, Origin: domain.OriginAPI,
				Payload: received(id, "prs_x", "text of "+id)})
		}
		res, err := log.Append(context.Background(), events)
		if err != nil {
			t.Fatal(err)
		}
		c := eventlog.Cursor{}
		for _, r := range res {
			c.Advance(r.Position)
		}
		return c
	}
	idx := &swapIndex{cur: newMemIndex()}
	p := newTestProjector(idx)
	p.log = log
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := p.WaitFor(wctx, appendMsgs("msg_1", "msg_2")); err != nil {
		t.Fatal(err)
	}
	// A reindex filled a new index up to msg_1 only, then took the alias.
	fresh := newMemIndex()
	old := idx.get()
	fresh.docs[docKey{team, "msg_1"}] = old.docs[docKey{team, "msg_1"}]
	fresh.cp = eventlog.Cursor{0: 1}
	idx.swap(fresh)

	if err := p.WaitFor(wctx, appendMsgs("msg_3")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"msg_1", "msg_2", "msg_3"} {
		if _, ok, _ := idx.Get(ctx, team, id); !ok {
			t.Errorf("%s missing from the new index", id)
		}
	}
}
