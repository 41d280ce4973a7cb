package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

func openTestLog(t *testing.T, path string, opts ...Option) *EventLog {
	t.Helper()
	opts = append([]Option{
		WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))),
		// Fast redelivery keeps the suite's handler-error cases short.
		WithRetryBackoff(5*time.Millisecond, 50*time.Millisecond),
	}, opts...)
	l, err := OpenEventLog(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestEventLogConformance(t *testing.T) {
	var mu sync.Mutex
	paths := map[eventlog.Log]string{}
	open := func(t *testing.T, path string) eventlog.Log {
		l := openTestLog(t, path)
		mu.Lock()
		paths[l] = path
		mu.Unlock()
		return l
	}
	eventlogtest.Run(t, eventlogtest.Factory{
		Open: func(t *testing.T) eventlog.Log {
			return open(t, filepath.Join(t.TempDir(), "events.db"))
		},
		Reopen: func(t *testing.T, old eventlog.Log) eventlog.Log {
			mu.Lock()
			path := paths[old]
			mu.Unlock()
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path)
		},
	})
}

func TestEventLogFileSettings(t *testing.T) {
	l := openTestLog(t, filepath.Join(t.TempDir(), "with ? and # in name", "events.db"))
	ctx := context.Background()
	// Every pooled connection must have them, not just the first: hold several at once.
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := l.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		var sync, busy int
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != 2 || busy <= 0 {
			t.Fatalf("journal_mode=%s synchronous=%d busy_timeout=%d, want wal, 2 (FULL), > 0", mode, sync, busy)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestAppendCancelledContextNeverReportsUnwrittenEvents(t *testing.T) {
	l := openTestLog(t, filepath.Join(t.TempDir(), "events.db"))
	team := eventlogtest.NewTeamID()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := eventlogtest.NewEvent(team, team, domain.TagCreated{TagID: "tag_1", Name: "x"})
	if res, err := l.Append(ctx, []domain.Event{e}); err == nil {
		t.Fatalf("Append with a cancelled context succeeded: %+v", res)
	}

	// Contexts ending at random moments around the commit: each caller's answer must match
	// what is in the file. This adapter promises both directions: success means written, and
	// an error means not written.
	type outcome struct {
		event domain.Event
		res   []eventlog.AppendResult
		err   error
	}
	outcomes := make([]outcome, 200)
	var wg sync.WaitGroup
	for i := range outcomes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(3000))*time.Microsecond)
			defer cancel()
			e := eventlogtest.NewEvent(team, team, domain.TagCreated{TagID: "tag_x", Name: "x"})
			res, err := l.Append(ctx, []domain.Event{e})
			outcomes[i] = outcome{e, res, err}
		})
	}
	wg.Wait()
	written := map[string]eventlog.Position{}
	recs, err := l.Read(context.Background(), eventlog.Query{TeamID: team, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		written[r.Event.ID] = r.Position
	}
	var ok, failed int
	for _, o := range outcomes {
		pos, in := written[o.event.ID]
		switch {
		case o.err == nil && !in:
			t.Fatalf("Append reported %+v for event %s, which is not in the log", o.res, o.event.ID)
		case o.err == nil && o.res[0].Position != pos:
			t.Fatalf("Append reported %v, the event is at %v", o.res[0].Position, pos)
		case o.err != nil && in:
			t.Fatalf("Append failed (%v) but event %s was written", o.err, o.event.ID)
		case o.err != nil && !errors.Is(o.err, context.DeadlineExceeded):
			t.Fatalf("Append failed with %v, want the context's error", o.err)
		}
		if o.err == nil {
			ok++
		} else {
			failed++
		}
	}
	t.Logf("%d appends succeeded, %d timed out", ok, failed)
}

func TestCloseCommitsAcceptedAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l := openTestLog(t, path)
	team := eventlogtest.NewTeamID()
	type outcome struct {
		id  string
		err error
	}
	outcomes := make(chan outcome, 100)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			e := eventlogtest.NewEvent(team, team, domain.TagDeleted{TagID: "tag_1"})
			_, err := l.Append(context.Background(), []domain.Event{e})
			outcomes <- outcome{e.ID, err}
		})
	}
	time.Sleep(time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(outcomes)

	l = openTestLog(t, path)
	recs, err := l.Read(context.Background(), eventlog.Query{TeamID: team, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	for _, r := range recs {
		written[r.Event.ID] = true
	}
	for o := range outcomes {
		switch {
		case o.err == nil && !written[o.id]:
			t.Fatalf("an append acknowledged before Close is missing after reopen")
		case o.err != nil && !errors.Is(o.err, eventlog.ErrClosed):
			t.Fatalf("Append during Close failed with %v, want ErrClosed", o.err)
		case o.err != nil && written[o.id]:
			t.Fatalf("an append refused with ErrClosed was written")
		}
	}
}

func TestConsumerSeesAnotherProcessesAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	reader := openTestLog(t, path, WithPollInterval(20*time.Millisecond))
	writer := openTestLog(t, path) // another process's handle on the same file
	team := eventlogtest.NewTeamID()

	got := make(chan string, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- reader.Consume(ctx, "other-process", func(_ context.Context, recs []eventlog.Record) error {
			for _, r := range recs {
				got <- r.Event.ID
			}
			return nil
		})
	}()
	e := eventlogtest.NewEvent(team, team, domain.TagDeleted{TagID: "tag_1"})
	if _, err := writer.Append(context.Background(), []domain.Event{e}); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-got:
		if id != e.ID {
			t.Fatalf("delivered %s, want %s", id, e.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the consumer never saw the other handle's append")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume returned %v", err)
	}
}

func TestReadRejectsCorruptEnvelope(t *testing.T) {
	l := openTestLog(t, filepath.Join(t.TempDir(), "events.db"))
	team := eventlogtest.NewTeamID()
	e := eventlogtest.NewEvent(team, team, domain.TagDeleted{TagID: "tag_1"})
	if _, err := l.Append(context.Background(), []domain.Event{e}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.db.Exec("UPDATE events SET envelope = x'ffff'"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(context.Background(), eventlog.Query{TeamID: team, Limit: 10}); err == nil {
		t.Fatal("Read returned a corrupt event without error")
	}
	// A consumer stops on it rather than skip it or spin on it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.Consume(ctx, "corrupt", func(context.Context, []eventlog.Record) error { return nil })
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Consume returned %v, want the decode error", err)
	}
}

// A data folder of the previous release: events without versions. Opening it numbers every
// stream's events in log order, and appends carry on from there.
func TestEventLogMigratesFileWithoutVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	// The previous release's schema, as it created the file.
	old, err := openDB(path, `
CREATE TABLE events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE,
    team_id     TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    envelope    BLOB    NOT NULL
) STRICT;
CREATE INDEX events_team_position ON events (team_id, position);
CREATE INDEX events_team_key_position ON events (team_id, key, position);
CREATE INDEX events_team_type_position ON events (team_id, type, position);
CREATE TABLE checkpoints ("group" TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    PRIMARY KEY ("group", partition)) STRICT;`)
	if err != nil {
		t.Fatal(err)
	}
	teamA, teamB := eventlogtest.NewTeamID(), eventlogtest.NewTeamID()
	k1, k2 := domain.NewID(domain.PrefixProspect), domain.NewID(domain.PrefixProspect)
	var written []domain.Event
	for i, s := range []struct{ team, key string }{{teamA, k1}, {teamA, k2}, {teamA, k1}, {teamB, k1}, {teamA, teamA}, {teamA, k1}} {
		e := eventlogtest.NewEvent(s.team, s.key, domain.ThreadRead{ThreadID: fmt.Sprint("thr_", i), ProspectID: s.key})
		env, err := eventcodec.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(`INSERT INTO events (event_id, team_id, key, type, occurred_at, recorded_at, envelope) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.TeamID, e.Key, e.Type(), e.OccurredAt.UnixNano(), e.RecordedAt.UnixNano(), env); err != nil {
			t.Fatal(err)
		}
		written = append(written, e)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	l := openTestLog(t, path)
	ctx := context.Background()
	stream := func(team, key string) []string {
		t.Helper()
		recs, err := l.ReadStream(ctx, team, key, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, r := range recs {
			if r.Version != int64(i+1) {
				t.Fatalf("stream %s/%s: event %d at version %d", team, key, i, r.Version)
			}
			out = append(out, r.Event.ID)
		}
		return out
	}
	for _, c := range []struct {
		team, key string
		want      []string
	}{
		{teamA, k1, []string{written[0].ID, written[2].ID, written[5].ID}},
		{teamA, k2, []string{written[1].ID}},
		{teamB, k1, []string{written[3].ID}},
		{teamA, teamA, []string{written[4].ID}},
	} {
		if got := stream(c.team, c.key); !slices.Equal(got, c.want) {
			t.Fatalf("stream %s/%s after migration: %v, want %v", c.team, c.key, got, c.want)
		}
	}
	// Appends continue the numbering, and the version check sees the old events.
	_, err = l.AppendStream(ctx, teamA, k1, 2, []domain.Event{eventlogtest.NewEvent(teamA, k1, domain.ThreadRead{ThreadID: "thr_x", ProspectID: k1})})
	if !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("AppendStream at a stale version after migration = %v, want a conflict", err)
	}
	res, err := l.Append(ctx, []domain.Event{eventlogtest.NewEvent(teamA, k1, domain.ThreadRead{ThreadID: "thr_y", ProspectID: k1})})
	if err != nil || res[0].Version != 4 {
		t.Fatalf("Append after migration = %+v, %v, want version 4", res, err)
	}
	// Opening again migrates nothing twice.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, path)
	if got := stream(teamA, k1); len(got) != 4 {
		t.Fatalf("stream after reopening: %v", got)
	}
}
