package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/projections/readmodeltest"
)

func TestReadModelConformance(t *testing.T) {
	pgTestURL(t)
	readmodeltest.Run(t, func(t *testing.T) projections.Store {
		s, _ := pgOpenTest(t, "")
		return s
	})
}

// The same suite with a flush every few writes: a batch then reads, after a flush, from the
// rows it prefetched and wrote before it, which must still be what the table holds.
func TestReadModelConformanceFlushingOften(t *testing.T) {
	pgTestURL(t)
	readmodeltest.Run(t, func(t *testing.T) projections.Store {
		s, _ := pgOpenTest(t, "")
		s.flushAt = 3
		return s
	})
}

// The zero time is stored as 0001-01-01 UTC and read back as the zero time.
func TestReadModelZeroTime(t *testing.T) {
	ctx := context.Background()
	s, _ := pgOpenTest(t, "")
	team := domain.NewID(domain.PrefixTeam)
	err := s.Update(ctx, func(tx projections.Tx) error {
		if err := tx.PutAccountLink(projections.AccountLink{ID: "acc_1", TeamID: team, Platform: "api"}); err != nil {
			return err
		}
		return tx.PutThread(projections.Thread{ID: "thr_1", TeamID: team, ProspectID: "prs_missing"})
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.AccountLink(ctx, team, "acc_1")
	if err != nil {
		t.Fatal(err)
	}
	if a.LinkedAt != (time.Time{}) {
		t.Errorf("LinkedAt = %#v, want the zero time", a.LinkedAt)
	}
	th, err := s.Thread(ctx, team, "thr_1")
	if err != nil {
		t.Fatal(err)
	}
	if th.LastMessageAt != (time.Time{}) || th.CreatedAt != (time.Time{}) {
		t.Errorf("thread times = %#v, %#v; want zero times", th.LastMessageAt, th.CreatedAt)
	}
	if th.Prospect != nil {
		t.Errorf("thread of a missing prospect has Prospect %+v", th.Prospect)
	}
	// Sub-microsecond precision is dropped the same way on writes and on cursors.
	at := time.Date(2025, 3, 1, 9, 0, 0, 123456789, time.UTC)
	err = s.Update(ctx, func(tx projections.Tx) error {
		return tx.PutThread(projections.Thread{ID: "thr_2", TeamID: team, LastMessageAt: at})
	})
	if err != nil {
		t.Fatal(err)
	}
	th, err = s.Thread(ctx, team, "thr_2")
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Truncate(time.Microsecond); !th.LastMessageAt.Equal(want) {
		t.Errorf("LastMessageAt = %v, want %v", th.LastMessageAt, want)
	}
	page, err := s.Threads(ctx, projections.ThreadQuery{TeamID: team, View: projections.ViewAll,
		After: &projections.SortKey{At: th.LastMessageAt, ID: "thr_3"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].ID != "thr_2" {
		t.Errorf("page after (at, thr_3) = %v, want thr_2 then thr_1", threadIDsOf(page))
	}
}

func threadIDsOf(ts []projections.Thread) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// Queries read committed rows while an Update is in progress, without waiting for it, and
// concurrent Updates that read, change and write the same row lose nothing: writers are
// serialized.
func TestReadModelConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	s, _ := pgOpenTest(t, "")
	team := domain.NewID(domain.PrefixTeam)
	if err := s.Update(ctx, func(tx projections.Tx) error {
		return tx.PutThread(projections.Thread{ID: "thr_1", TeamID: team, MessageCount: 1})
	}); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx projections.Tx) error {
		th, err := tx.GetThread(team, "thr_1")
		if err != nil {
			return err
		}
		th.MessageCount = 100
		if err := tx.PutThread(th); err != nil {
			return err
		}
		if got, err := tx.GetThread(team, "thr_1"); err != nil || got.MessageCount != 100 {
			t.Errorf("the Update's own read = %d, %v; want its write (100)", got.MessageCount, err)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		got, err := s.Thread(rctx, team, "thr_1")
		if err != nil {
			t.Errorf("read during an Update: %v", err)
		} else if got.MessageCount != 1 {
			t.Errorf("read during an Update saw uncommitted count %d", got.MessageCount)
		}
		th.MessageCount = 1
		return tx.PutThread(th)
	})
	if err != nil {
		t.Fatal(err)
	}

	const writers, each = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := s.Update(ctx, func(tx projections.Tx) error {
					th, err := tx.GetThread(team, "thr_1")
					if err != nil {
						return err
					}
					th.MessageCount++
					return tx.PutThread(th)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Update: %v", err)
	}
	th, err := s.Thread(ctx, team, "thr_1")
	if err != nil {
		t.Fatal(err)
	}
	if th.MessageCount != 1+writers*each {
		t.Errorf("message count after %d concurrent increments = %d, want %d", writers*each, th.MessageCount, 1+writers*each)
	}
}

// A large Update sends its writes in several batches; its reads still see every write.
func TestReadModelFlushesLargeUpdates(t *testing.T) {
	ctx := context.Background()
	s, _ := pgOpenTest(t, "")
	s.flushAt = 7
	team := domain.NewID(domain.PrefixTeam)
	const n = 50
	err := s.Update(ctx, func(tx projections.Tx) error {
		for i := range n {
			inserted, err := tx.InsertMessage(projections.Message{ID: fmt.Sprintf("msg_%02d", i), TeamID: team, ThreadID: "thr_1"})
			if err != nil || !inserted {
				return fmt.Errorf("insert %d: %v, %v", i, inserted, err)
			}
			th, err := tx.GetThread(team, "thr_1")
			if errors.Is(err, projections.ErrNotFound) {
				th = projections.Thread{ID: "thr_1", TeamID: team, ProspectID: "prs_1"}
			} else if err != nil {
				return err
			}
			th.MessageCount++
			if err := tx.PutThread(th); err != nil {
				return err
			}
		}
		for i := range n {
			if inserted, err := tx.InsertMessage(projections.Message{ID: fmt.Sprintf("msg_%02d", i), TeamID: team}); err != nil || inserted {
				return fmt.Errorf("insert %d again: %v, %v", i, inserted, err)
			}
		}
		ts, err := tx.ThreadsOfProspect(team, "prs_1")
		if err != nil || len(ts) != 1 || ts[0].MessageCount != n {
			return fmt.Errorf("threads of prospect = %+v, %v", ts, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	th, err := s.Thread(ctx, team, "thr_1")
	if err != nil || th.MessageCount != n {
		t.Fatalf("thread = %+v, %v; want %d messages", th, err, n)
	}
	ms, err := s.Messages(ctx, projections.MessageQuery{TeamID: team, ThreadID: "thr_1"})
	if err != nil || len(ms) != n {
		t.Fatalf("messages = %d, %v; want %d", len(ms), err, n)
	}
}

// Every view and filter of ListThreads (and the other lists) reads its page in order from an
// index whose condition holds the view's or the filter's columns, and a later page starts at
// its cursor: with sequential scans and sorts disabled, the plan has neither, and the
// conditions are index conditions, not filters applied to every row.
func TestReadModelListsUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, schema := pgOpenTest(t, "")
	team := domain.NewID(domain.PrefixTeam)
	err := s.Update(ctx, func(tx projections.Tx) error {
		if err := tx.PutTag(projections.Tag{TeamID: team, ID: "tag_1", Name: "vip"}); err != nil {
			return err
		}
		for _, p := range []string{"prs_1", "prs_2"} {
			if err := tx.AddProspectTag(team, p, "tag_1"); err != nil {
				return err
			}
		}
		for i := range 50 {
			err := tx.PutThread(projections.Thread{ID: fmt.Sprintf("thr_%02d", i), TeamID: team, ProspectID: fmt.Sprintf("prs_%d", i%5),
				Platform: "messenger", AccountLinkID: "acc_1", Done: i%3 == 0, Request: i%4 == 0,
				LastMessageAt: time.Unix(int64(1000+i), 0)})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := pgAdmin(t)
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, set := range []string{"search_path = " + pgx.Identifier{schema}.Sanitize(), "enable_seqscan = off", "enable_sort = off",
		"enable_bitmapscan = off", "enable_incremental_sort = off"} {
		if _, err := tx.Exec(ctx, "SET LOCAL "+set); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	sortNode := regexp.MustCompile(`(^|->\s+)(Incremental )?Sort\b`)
	// plan checks the plan of query: table (alias) is read by an index, whose condition holds
	// every string of all, and at least one of oneOf (when given).
	plan := func(what, table, query string, args []any, all, oneOf []string) {
		t.Helper()
		rows, err := tx.Query(ctx, "EXPLAIN (COSTS OFF) "+query, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var lines []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, strings.TrimSpace(l))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		p := strings.Join(lines, "\n")
		var cond string
		for i, l := range lines {
			if strings.Contains(l, "Scan") && strings.HasSuffix(l, " on "+table) && i+1 < len(lines) {
				if c, ok := strings.CutPrefix(lines[i+1], "Index Cond: "); ok {
					cond = c
				}
			}
		}
		var missing []string
		for _, c := range all {
			if !strings.Contains(cond, c) {
				missing = append(missing, c)
			}
		}
		anyFound := len(oneOf) == 0
		for _, c := range oneOf {
			anyFound = anyFound || strings.Contains(cond, c)
		}
		if testing.Verbose() {
			t.Logf("%s:\n%s", what, p)
		}
		switch {
		case strings.Contains(p, "Seq Scan on "), sortNode.MatchString(p):
			t.Errorf("%s: not read in order from an index:\n%s", what, p)
		case cond == "":
			t.Errorf("%s: %s not read by an index scan with a condition:\n%s", what, table, p)
		case len(missing) > 0 || !anyFound:
			t.Errorf("%s: index condition %s lacks %v (or one of %v):\n%s", what, cond, missing, oneOf, p)
		}
	}
	after := &projections.SortKey{At: time.Unix(1025, 0), ID: "thr_25"}
	views := map[string]struct {
		v    projections.View
		cond []string
	}{
		"INBOX":    {projections.ViewInbox, []string{"done = false", "request = false"}},
		"NO_REPLY": {projections.ViewNoReply, []string{"done = false", "last_message_direction = 'outbound'"}},
		"REQUESTS": {projections.ViewRequests, []string{"done = false", "request = true"}},
		"ARCHIVED": {projections.ViewArchived, []string{"done = true"}},
		"ALL":      {projections.ViewAll, nil},
	}
	filters := map[string]struct {
		set  func(*projections.ThreadQuery)
		cond string // "": checked per thread in the order of the view's index (link, platform)
	}{
		"no filter": {func(*projections.ThreadQuery) {}, ""},
		// A team has a handful of links and platforms: the view's index, the filter per row.
		"account link": {func(q *projections.ThreadQuery) { q.AccountLinkID = "acc_1" }, ""},
		"platform":     {func(q *projections.ThreadQuery) { q.Platform = "messenger" }, ""},
		"assignee":     {func(q *projections.ThreadQuery) { q.AssigneeMemberID = "mem_1" }, "assignee_member_id = "},
		"unassigned":   {func(q *projections.ThreadQuery) { q.Unassigned = true }, "assignee_member_id = "},
		"prospect":     {func(q *projections.ThreadQuery) { q.ProspectID = "prs_1" }, "prospect_id = "},
		// The tag's rows of thread_tags, the view's columns checked in that index.
		"tag":    {func(q *projections.ThreadQuery) { q.TagID = "tag_1" }, "tag_id = "},
		"status": {func(q *projections.ThreadQuery) { q.StatusID = "sts_1" }, "prospect_status_id = "},
	}
	for vn, v := range views {
		for fn, f := range filters {
			for _, a := range []*projections.SortKey{nil, after} {
				q := projections.ThreadQuery{TeamID: team, View: v.v, After: a, Limit: 21}
				f.set(&q)
				var all, oneOf []string
				table := "threads t"
				switch {
				case q.TagID != "":
					table, all = "thread_tags k", []string{f.cond}
				case f.cond == "":
					all = v.cond // the view's own index
				case v.cond == nil:
					all = []string{f.cond} // the filter's own index
				default:
					oneOf = append([]string{f.cond}, v.cond...) // either index serves
				}
				if a != nil {
					all = append(all, "last_message_at <= ")
				}
				query, args := pgThreadsSQL(q)
				plan(fmt.Sprintf("threads %s, %s, after %v", vn, fn, a != nil), table, query, args, all, oneOf)
			}
		}
	}
	for fn, c := range map[string]struct {
		q    projections.ProspectQuery
		cond []string
	}{
		"no filter": {projections.ProspectQuery{}, nil},
		"platform":  {projections.ProspectQuery{Platform: "messenger"}, []string{"platform = "}},
		"status":    {projections.ProspectQuery{StatusID: "sts_1"}, []string{"status_id = "}},
		"tag":       {projections.ProspectQuery{TagID: "tag_1"}, nil},
	} {
		c.q.TeamID, c.q.Limit, c.q.After = team, 21, after
		query, args := pgProspectsSQL(c.q)
		plan("prospects, "+fn, "prospects p", query, args, append(c.cond, "last_seen_at <= "), nil)
	}
	query, args := pgMessagesSQL(projections.MessageQuery{TeamID: team, ThreadID: "thr_1", After: after, Limit: 21})
	plan("messages", "messages m", query, args, []string{"thread_id = ", "sent_at <= "}, nil)
}

// When PostgreSQL goes away, reads, writes and Ping fail promptly (well within the caller's
// deadline) instead of hanging; when it is back, the same ReadModel works again.
func TestReadModelUnreachable(t *testing.T) {
	proxy, u := pgStartProxy(t)
	s, _ := pgOpenTest(t, u)
	ctx := context.Background()
	team := domain.NewID(domain.PrefixTeam)
	put := func(ctx context.Context, id string) error {
		return s.Update(ctx, func(tx projections.Tx) error {
			return tx.PutThread(projections.Thread{ID: id, TeamID: team, ProspectID: "prs_1"})
		})
	}
	if err := put(ctx, "thr_1"); err != nil {
		t.Fatal(err)
	}

	proxy.SetDown(true)
	const deadline = 3 * time.Second
	checks := map[string]func(context.Context) error{
		"Thread": func(ctx context.Context) error { _, err := s.Thread(ctx, team, "thr_1"); return err },
		"Threads": func(ctx context.Context) error {
			_, err := s.Threads(ctx, projections.ThreadQuery{TeamID: team, View: projections.ViewAll})
			return err
		},
		"Checkpoint": func(ctx context.Context) error {
			_, err := s.Checkpoint(ctx, projections.ReadModelProjection)
			return err
		},
		"Ping":   s.Ping,
		"Update": func(ctx context.Context) error { return put(ctx, "thr_2") },
	}
	for name, check := range checks {
		cctx, cancel := context.WithTimeout(ctx, deadline)
		start := time.Now()
		err := check(cctx)
		took := time.Since(start)
		cancel()
		if err == nil || errors.Is(err, projections.ErrNotFound) {
			t.Errorf("%s with PostgreSQL unreachable: err = %v, want a connection error", name, err)
		}
		if took > deadline/2 {
			t.Errorf("%s with PostgreSQL unreachable took %v: it should fail promptly", name, took)
		}
	}

	proxy.SetDown(false)
	// The pool replaces its dead connections: no reopening.
	for name, check := range checks {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := check(cctx)
		cancel()
		if err != nil {
			t.Errorf("%s after PostgreSQL is back: %v", name, err)
		}
	}
	if _, err := s.Thread(ctx, team, "thr_2"); err != nil {
		t.Errorf("thread written after PostgreSQL came back: %v", err)
	}
}

func TestReadModelMessagesByID(t *testing.T) {
	s, _ := pgOpenTest(t, "")
	readmodeltest.MessagesByID(t, s)
}

func TestAnalyticsConformance(t *testing.T) {
	pgTestURL(t)
	readmodeltest.Analytics(t, func(t *testing.T) projections.AnalyticsStore {
		s, _ := pgOpenTest(t, "")
		return s
	})
}
