package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/projections/readmodeltest"
)

func rmOpenTemp(t testing.TB) *ReadModel {
	t.Helper()
	s, err := OpenReadModel(filepath.Join(t.TempDir(), "readmodel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReadModelConformance(t *testing.T) {
	readmodeltest.Run(t, func(t *testing.T) projections.Store { return rmOpenTemp(t) })
}

func TestReadModelSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	// A folder to create, with characters that mean something in a URI.
	path := filepath.Join(t.TempDir(), "data ?x=1#frag", "readmodel.db")
	s, err := OpenReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	team := domain.NewID(domain.PrefixTeam)
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	link := domain.AccountLinkID(team, domain.PlatformTelegram, "bot-1")
	thr := domain.ThreadID(team, domain.PlatformTelegram, link, "chat-1")
	prs := domain.ProspectID(team, domain.PlatformTelegram, "u-1")
	ev := domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: team, Key: prs, OccurredAt: at, RecordedAt: at,
		Origin: domain.OriginWebhook, Payload: domain.MessageReceived{
			MessageID: domain.MessageID(team, domain.PlatformTelegram, link, "1"), ThreadID: thr, ProspectID: prs,
			AccountLinkID: link, Platform: domain.PlatformTelegram, PlatformMessageID: "1", PlatformConversationID: "chat-1",
			Direction: domain.Inbound, Prospect: domain.Participant{PlatformID: "u-1", Username: "una"}, Text: "hello", SentAt: at,
		}}
	p := projections.NewProjector(nil, s, nil)
	if err := p.Handle(ctx, []eventlog.Record{{Position: eventlog.Position{Partition: 0, Offset: 41}, Event: ev}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	if err := s.c().r.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode = %q, %v; want wal", mode, err)
	}
	th, err := s.Thread(ctx, team, thr)
	if err != nil {
		t.Fatalf("thread after reopening: %v", err)
	}
	if th.LastMessageText != "hello" || th.MessageCount != 1 || !th.LastMessageAt.Equal(at) || th.Prospect == nil || th.Prospect.Username != "una" {
		t.Errorf("thread after reopening = %+v", th)
	}
	cp, err := s.Checkpoint(ctx, projections.ReadModelProjection)
	if err != nil || cp.String() != "0-41" {
		t.Errorf("checkpoint after reopening = %v, %v; want 0-41", cp, err)
	}
}

// The zero time is stored as 0 and read back as the zero time, not as 1970.
func TestReadModelZeroTime(t *testing.T) {
	ctx := context.Background()
	s := rmOpenTemp(t)
	team := domain.NewID(domain.PrefixTeam)
	err := s.Update(ctx, func(tx projections.Tx) error {
		return tx.PutAccountLink(projections.AccountLink{ID: "acc_1", TeamID: team, Platform: "api"})
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.AccountLink(ctx, team, "acc_1")
	if err != nil {
		t.Fatal(err)
	}
	if !a.LinkedAt.IsZero() {
		t.Errorf("LinkedAt = %v, want the zero time", a.LinkedAt)
	}
}

// Queries read a committed snapshot while the projector holds the write transaction, and
// concurrent Updates queue up instead of failing with SQLITE_BUSY.
func TestReadModelReadsDoNotWaitForWrites(t *testing.T) {
	ctx := context.Background()
	s := rmOpenTemp(t)
	team := domain.NewID(domain.PrefixTeam)
	put := func(tx projections.Tx, id string, n int32) error {
		return tx.PutThread(projections.Thread{ID: id, TeamID: team, ProspectID: "prs_1", MessageCount: n,
			LastMessageAt: time.Unix(int64(n), 0)})
	}
	if err := s.Update(ctx, func(tx projections.Tx) error { return put(tx, "thr_1", 1) }); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx projections.Tx) error {
		if err := put(tx, "thr_1", 2); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		th, err := s.Thread(rctx, team, "thr_1")
		if err != nil {
			t.Errorf("read during a write transaction: %v", err)
		} else if th.MessageCount != 1 {
			t.Errorf("read during a write transaction saw uncommitted count %d", th.MessageCount)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	const writers, each = 8, 20
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			var err error
			for i := range each {
				id := fmt.Sprintf("thr_w%d_%d", w, i)
				if err = s.Update(ctx, func(tx projections.Tx) error { return put(tx, id, 1) }); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Update: %v", err)
		}
	}
	ts, err := s.Threads(ctx, projections.ThreadQuery{TeamID: team, View: projections.ViewAll})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1+writers*each {
		t.Errorf("threads after concurrent updates = %d, want %d", len(ts), 1+writers*each)
	}
}

// TestCorruptReadModelIsReplacedWhileRunning: a read that SQLite answers "malformed" sets the
// file aside, puts an empty read model in its place and tells the projector to start again.
func TestCorruptReadModelIsReplacedWhileRunning(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rebuilt := make(chan struct{}, 1)
	s, err := OpenReadModel(filepath.Join(dir, "readmodel.db"), WithOnRebuilt(func() { rebuilt <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(ctx, func(tx projections.Tx) error {
		return tx.PutTeam(projections.Team{ID: "team_1", Name: "one"})
	}); err != nil {
		t.Fatal(err)
	}
	// What modernc's SQLite returns for a damaged page.
	_ = s.observe(fmt.Errorf("read model: thread: %w", errors.New("database disk image is malformed (11)")))
	if s.State() == nil {
		t.Error("State is nil while the read model is being replaced")
	}
	select {
	case <-rebuilt:
	case <-time.After(10 * time.Second):
		t.Fatal("the corrupt read model was not replaced")
	}
	if _, err := s.Team(ctx, "team_1"); !errors.Is(err, projections.ErrNotFound) {
		t.Fatalf("team in the replaced read model: %v, want not found (it is rebuilt from the log)", err)
	}
	if s.Rebuilds() != 1 || s.State() != nil {
		t.Fatalf("rebuilds %d, state %v", s.Rebuilds(), s.State())
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "readmodel.db.corrupt-*"))
	if len(aside) == 0 {
		t.Fatal("the corrupt file was not kept aside")
	}
}

func TestReadModelMessagesByID(t *testing.T) { readmodeltest.MessagesByID(t, rmOpenTemp(t)) }

func TestAnalyticsConformance(t *testing.T) {
	readmodeltest.Analytics(t, func(t *testing.T) projections.AnalyticsStore { return rmOpenTemp(t) })
}

// The analytics projector applies a batch only once the read model has (Trail): until then
// the metrics stay as they were, and the wait asks for the batch's positions.
func TestAnalyticsTrailsTheReadModel(t *testing.T) {
	ctx := context.Background()
	s := rmOpenTemp(t)
	p := projections.NewAnalyticsProjector(nil, s, nil, "")
	release := make(chan struct{})
	asked := make(chan eventlog.Cursor, 1)
	p.Trail(func(ctx context.Context, c eventlog.Cursor) error {
		asked <- c
		<-release
		return nil
	})
	team := domain.NewID(domain.PrefixTeam)
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	recs := []eventlog.Record{{Position: eventlog.Position{Partition: 0, Offset: 7}, Event: domain.Event{ID: "evt_1", TeamID: team,
		Key: "pro_1", OccurredAt: at, Actor: "platform:messenger", Payload: domain.MessageReceived{MessageID: "msg_1", ThreadID: "thr_1",
			ProspectID: "pro_1", AccountLinkID: "acc_1", Platform: domain.PlatformMessenger, Direction: domain.Inbound, SentAt: at}}}}
	done := make(chan error, 1)
	go func() { done <- p.Handle(ctx, recs) }()
	select {
	case c := <-asked:
		if !c.Covers(eventlog.Cursor{0: 7}) {
			t.Fatalf("waited for %v, want the batch's position 0-7", c)
		}
	case err := <-done:
		t.Fatalf("the batch was applied without waiting for the read model (%v)", err)
	}
	turns := func() int {
		got, err := s.ConversationTurns(ctx, projections.TurnQuery{TeamID: team, From: at.Add(-time.Hour), To: at.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	select {
	case err := <-done:
		t.Fatalf("the batch was applied before the read model had it (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	if n := turns(); n != 0 {
		t.Fatalf("%d turns before the read model applied the batch, want 0", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := turns(); n != 1 {
		t.Fatalf("%d turns after, want 1", n)
	}
}
