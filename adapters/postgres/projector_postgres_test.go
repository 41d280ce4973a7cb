package postgres

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

// pgWorkload is a team's conversations with three people: inbound and outbound messages,
// messages brought twice by two paths, and reads, so unread and message counts would show
// any event applied twice.
type pgWorkload struct {
	team, link string
	users      []string
	events     []domain.Event
}

func newPgWorkload(n int) *pgWorkload {
	w := &pgWorkload{team: domain.NewID(domain.PrefixTeam), users: []string{"ann", "bob", "cyd"}}
	w.link = domain.AccountLinkID(w.team, domain.PlatformMessenger, "page-1")
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	ev := func(key string, at time.Time, p domain.Payload) domain.Event {
		return domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: w.team, Key: key, OccurredAt: at,
			RecordedAt: at.Add(time.Second), Actor: domain.ActorSystem, Origin: domain.OriginWebhook, Payload: p}
	}
	w.events = append(w.events, ev(w.team, t0, domain.AccountLinked{AccountLinkID: w.link, Platform: domain.PlatformMessenger,
		PlatformID: "page-1", Username: "page", WebhookPath: "/webhooks/messenger/" + w.link}))
	last := map[string]domain.Event{}
	for i := 1; len(w.events) < n; i++ {
		user := w.users[i%len(w.users)]
		at := t0.Add(time.Duration(i) * time.Minute)
		thr := w.thread(user)
		prs := domain.ProspectID(w.team, domain.PlatformMessenger, user)
		switch {
		case i%10 == 5:
			w.events = append(w.events, ev(prs, at, domain.ThreadRead{ThreadID: thr, ProspectID: prs}))
		case i%7 == 0 && last[user].ID != "":
			again := last[user]
			again.ID, again.Origin = domain.NewID(domain.PrefixEvent), domain.OriginPoll
			w.events = append(w.events, again)
		default:
			dir := domain.Inbound
			if i%4 == 0 {
				dir = domain.Outbound
			}
			pmid := fmt.Sprintf("m%d", i)
			e := ev(prs, at, domain.MessageReceived{
				MessageID: domain.MessageID(w.team, domain.PlatformMessenger, w.link, pmid), ThreadID: thr, ProspectID: prs,
				AccountLinkID: w.link, Platform: domain.PlatformMessenger, PlatformMessageID: pmid,
				PlatformConversationID: "conv-" + user, Direction: dir,
				Prospect: domain.Participant{PlatformID: user, Username: user}, Text: "message " + pmid, SentAt: at,
			})
			last[user] = e
			w.events = append(w.events, e)
		}
	}
	return w
}

func (w *pgWorkload) thread(user string) string {
	return domain.ThreadID(w.team, domain.PlatformMessenger, w.link, "conv-"+user)
}

// records numbers events from offset first of partition 0.
func pgRecords(first int64, events []domain.Event) []eventlog.Record {
	out := make([]eventlog.Record, len(events))
	for i, e := range events {
		out[i] = eventlog.Record{Position: eventlog.Position{Partition: 0, Offset: first + int64(i)}, Event: e}
	}
	return out
}

// check compares each thread with the counts of the first n events, each applied once.
func (w *pgWorkload) check(t *testing.T, s projections.Store, n int) {
	t.Helper()
	ctx := context.Background()
	msgs := map[string]map[string]bool{}
	unread := map[string]int32{}
	for _, e := range w.events[:n] {
		switch p := e.Payload.(type) {
		case domain.MessageReceived:
			if msgs[p.ThreadID] == nil {
				msgs[p.ThreadID] = map[string]bool{}
			}
			if msgs[p.ThreadID][p.MessageID] {
				continue
			}
			msgs[p.ThreadID][p.MessageID] = true
			if p.Direction == domain.Inbound {
				unread[p.ThreadID]++
			}
		case domain.ThreadRead:
			if msgs[p.ThreadID] != nil {
				unread[p.ThreadID] = 0
			}
		}
	}
	for thr, ids := range msgs {
		th, err := s.Thread(ctx, w.team, thr)
		if err != nil {
			t.Errorf("thread %s: %v", thr, err)
			continue
		}
		if th.MessageCount != int32(len(ids)) || th.UnreadCount != unread[thr] {
			t.Errorf("thread %s: %d messages, %d unread; want %d, %d", thr, th.MessageCount, th.UnreadCount, len(ids), unread[thr])
		}
		ms, err := s.Messages(ctx, projections.MessageQuery{TeamID: w.team, ThreadID: thr})
		if err != nil || len(ms) != len(ids) {
			t.Errorf("thread %s: %d messages listed, %v; want %d", thr, len(ms), err, len(ids))
		}
	}
}

// pgSnapshot is everything of a team a client can read, and the checkpoint.
type pgSnapshot struct {
	Threads    []projections.Thread
	Messages   map[string][]projections.Message
	Prospects  []projections.Prospect
	Links      []projections.AccountLink
	Checkpoint string
}

func pgTakeSnapshot(t *testing.T, s projections.Store, team string) pgSnapshot {
	t.Helper()
	ctx := context.Background()
	var sn pgSnapshot
	var err error
	if sn.Threads, err = s.Threads(ctx, projections.ThreadQuery{TeamID: team, View: projections.ViewAll}); err != nil {
		t.Fatal(err)
	}
	sn.Messages = map[string][]projections.Message{}
	for _, th := range sn.Threads {
		if sn.Messages[th.ID], err = s.Messages(ctx, projections.MessageQuery{TeamID: team, ThreadID: th.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if sn.Prospects, err = s.Prospects(ctx, projections.ProspectQuery{TeamID: team}); err != nil {
		t.Fatal(err)
	}
	if sn.Links, err = s.AccountLinks(ctx, team); err != nil {
		t.Fatal(err)
	}
	cp, err := s.Checkpoint(ctx, projections.ReadModelProjection)
	if err != nil {
		t.Fatal(err)
	}
	sn.Checkpoint = cp.String()
	return sn
}

// pgCrashStore is a read model whose Update crashes (crash is called) at its crashAt-th write
// since the store was made, like a projector killed mid-batch.
type pgCrashStore struct {
	*ReadModel
	writes  int
	crashAt int
	crash   func()
}

func (c *pgCrashStore) Update(ctx context.Context, fn func(tx projections.Tx) error) error {
	return c.ReadModel.Update(ctx, func(tx projections.Tx) error { return fn(&pgCrashTx{Tx: tx, c: c}) })
}

type pgCrashTx struct {
	projections.Tx
	c *pgCrashStore
}

func (x *pgCrashTx) wrote() {
	x.c.writes++
	if x.c.writes == x.c.crashAt && x.c.crash != nil {
		x.c.crash()
	}
}

func (x *pgCrashTx) SetCheckpoint(p string, c eventlog.Cursor) error {
	x.wrote()
	return x.Tx.SetCheckpoint(p, c)
}

func (x *pgCrashTx) PutAccountLink(a projections.AccountLink) error {
	x.wrote()
	return x.Tx.PutAccountLink(a)
}

func (x *pgCrashTx) PutProspect(p projections.Prospect) error {
	x.wrote()
	return x.Tx.PutProspect(p)
}

func (x *pgCrashTx) PutThread(t projections.Thread) error {
	x.wrote()
	return x.Tx.PutThread(t)
}

func (x *pgCrashTx) InsertMessage(m projections.Message) (bool, error) {
	x.wrote()
	return x.Tx.InsertMessage(m)
}

func (x *pgCrashTx) PutMessage(m projections.Message) error {
	x.wrote()
	return x.Tx.PutMessage(m)
}

// A projector killed mid-batch (its context cancelled, or its PostgreSQL backend terminated,
// after the first writes of the batch reached the server) leaves no trace: redelivering the
// batch, and a batch overlapping it, gives exactly what one clean application gives, and
// delivering applied batches again changes nothing.
func TestProjectorKilledMidBatch(t *testing.T) {
	for _, mode := range []string{"cancel", "terminate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ref, _ := pgOpenTest(t, "")
			appName := fmt.Sprintf("sbtest_%s_%d", mode, time.Now().UnixNano())
			s, _ := pgOpenTest(t, pgWithParam(t, pgTestURL(t), "application_name", appName))
			s.flushAt = 4 // so that rows reach the server before the crash
			admin := pgAdmin(t)
			cs := &pgCrashStore{ReadModel: s}
			p := projections.NewProjector(nil, cs, pgQuiet)
			refP := projections.NewProjector(nil, ref, pgQuiet)

			w := newPgWorkload(40)
			recs := pgRecords(100, w.events)
			first, overlap := recs[:25], recs[15:]

			// crashDuring delivers recs through a projector that dies at its n-th write.
			crashDuring := func(recs []eventlog.Record, n int) {
				t.Helper()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				crashed := false
				cs.crashAt = cs.writes + n
				cs.crash = func() {
					crashed = true
					var pid int32
					var wrote bool
					err := admin.QueryRow(ctx, `SELECT pid, backend_xid IS NOT NULL FROM pg_stat_activity
						WHERE application_name = $1 AND state LIKE 'idle in transaction%'`, appName).Scan(&pid, &wrote)
					if err != nil {
						t.Fatalf("find the projector's backend: %v", err)
					}
					if !wrote {
						t.Error("the crash came before any row reached the server; lower flushAt")
					}
					if mode == "cancel" {
						cancel()
						return
					}
					if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
						t.Fatalf("terminate the projector's backend: %v", err)
					}
				}
				err := p.Handle(ctx, recs)
				cs.crash = nil
				if !crashed {
					t.Fatalf("the batch ended after %d writes, before the crash", cs.writes)
				}
				if err == nil {
					t.Fatal("Handle of a batch killed midway succeeded")
				}
			}
			deliver := func(recs []eventlog.Record) {
				t.Helper()
				if err := p.Handle(context.Background(), recs); err != nil {
					t.Fatal(err)
				}
				if err := refP.Handle(context.Background(), recs); err != nil {
					t.Fatal(err)
				}
			}
			same := func(when string) {
				t.Helper()
				got, want := pgTakeSnapshot(t, s, w.team), pgTakeSnapshot(t, ref, w.team)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: read model differs from one clean application:\ngot  %+v\nwant %+v", when, got, want)
				}
			}

			crashDuring(first, 15)
			if sn := pgTakeSnapshot(t, s, w.team); len(sn.Threads) != 0 || len(sn.Links) != 0 || sn.Checkpoint != "" {
				t.Fatalf("after a crash mid-batch the read model has %d threads, %d links, checkpoint %q; want nothing",
					len(sn.Threads), len(sn.Links), sn.Checkpoint)
			}
			deliver(first)
			same("redelivered batch")
			w.check(t, s, 25)

			before := pgTakeSnapshot(t, s, w.team)
			crashDuring(overlap, 12)
			if after := pgTakeSnapshot(t, s, w.team); !reflect.DeepEqual(before, after) {
				t.Fatalf("a crashed batch changed the read model:\nbefore %+v\nafter  %+v", before, after)
			}
			deliver(overlap)
			same("overlapping batch")
			w.check(t, s, len(recs))
			if cp := pgTakeSnapshot(t, s, w.team).Checkpoint; cp != recs[len(recs)-1].Position.String() {
				t.Errorf("checkpoint = %s, want %s", cp, recs[len(recs)-1].Position)
			}

			done := pgTakeSnapshot(t, s, w.team)
			for _, again := range [][]eventlog.Record{recs, first, overlap} {
				if err := p.Handle(context.Background(), again); err != nil {
					t.Fatal(err)
				}
			}
			if after := pgTakeSnapshot(t, s, w.team); !reflect.DeepEqual(done, after) {
				t.Errorf("applied batches delivered again changed the read model:\nbefore %+v\nafter  %+v", done, after)
			}
		})
	}
}

// While PostgreSQL is unreachable the projector's batches fail and the event log redelivers
// them; once it is back the projector resumes where it stopped, each event applied once.
func TestProjectorPausesWhilePostgresIsUnreachable(t *testing.T) {
	proxy, u := pgStartProxy(t)
	s, _ := pgOpenTest(t, u)
	log, err := sqlite.OpenEventLog(filepath.Join(t.TempDir(), "events.db"), sqlite.WithLogger(pgQuiet),
		sqlite.WithRetryBackoff(20*time.Millisecond, 200*time.Millisecond), sqlite.WithPollInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	p := projections.NewProjector(log, s, pgQuiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("projector: %v", err)
		}
		log.Close()
	})

	w := newPgWorkload(60)
	caughtUp := func(when string) {
		t.Helper()
		head, err := log.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		defer wcancel()
		if err := p.WaitFor(wctx, head); err != nil {
			t.Fatalf("%s: projector did not catch up: %v", when, err)
		}
		cp, err := s.Checkpoint(ctx, projections.ReadModelProjection)
		if err != nil || cp.String() != head.String() {
			t.Errorf("%s: checkpoint %v, %v; want the log's head %v", when, cp, err, head)
		}
	}
	if _, err := log.Append(ctx, w.events[:20]); err != nil {
		t.Fatal(err)
	}
	caughtUp("before the outage")
	w.check(t, s, 20)

	proxy.SetDown(true)
	for i := 20; i < len(w.events); i += 10 {
		if _, err := log.Append(ctx, w.events[i:min(i+10, len(w.events))]); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // several failed deliveries
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = s.Thread(rctx, w.team, w.thread("ann"))
	rcancel()
	if err == nil || errors.Is(err, projections.ErrNotFound) {
		t.Fatalf("read with PostgreSQL unreachable: %v, want a connection error", err)
	}

	proxy.SetDown(false)
	caughtUp("after the outage")
	w.check(t, s, len(w.events))
}

// Terminated backends (a PostgreSQL restart, an administrator) cost the pool its connections,
// not the ReadModel its usability.
func TestReadModelSurvivesTerminatedBackends(t *testing.T) {
	appName := fmt.Sprintf("sbtest_term_%d", time.Now().UnixNano())
	s, _ := pgOpenTest(t, pgWithParam(t, pgTestURL(t), "application_name", appName))
	admin := pgAdmin(t)
	ctx := context.Background()
	w := newPgWorkload(20)
	p := projections.NewProjector(nil, s, pgQuiet)
	recs := pgRecords(0, w.events)
	if err := p.Handle(ctx, recs[:10]); err != nil {
		t.Fatal(err)
	}
	// Several idle connections in the pool, all terminated.
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, err := s.Thread(ctx, w.team, w.thread("ann")); errs <- err }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		appName).Scan(&n); err != nil || n == 0 {
		t.Fatalf("terminated %d backends, %v", n, err)
	}
	for name, check := range map[string]func() error{
		"Thread":     func() error { _, err := s.Thread(ctx, w.team, w.thread("ann")); return err },
		"Checkpoint": func() error { _, err := s.Checkpoint(ctx, projections.ReadModelProjection); return err },
		"Ping":       func() error { return s.Ping(ctx) },
		"Update":     func() error { return p.Handle(ctx, recs[10:]) },
	} {
		if err := check(); err != nil {
			t.Errorf("%s after the backends were terminated: %v", name, err)
		}
	}
	w.check(t, s, len(recs))
}
