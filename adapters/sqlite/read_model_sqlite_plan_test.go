package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/projections"
)

// TestReadModelQueriesUseIndexes asks SQLite how it would run every read query, each view of
// ListThreads with each filter alone and with the others it combines with, and fails if any
// walks a table instead of searching an index: at a million threads such a query takes
// seconds instead of milliseconds. The table that orders a page must be the outer loop, and
// the tag filter must walk the tag's rows of thread_tags, not a view's threads checking each.
func TestReadModelQueriesUseIndexes(t *testing.T) {
	s := rmOpenTemp(t)
	ctx := context.Background()
	after := &projections.SortKey{At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), ID: "thr_x"}

	type filter struct {
		name string
		set  func(*projections.ThreadQuery)
	}
	filters := []filter{
		{"none", func(*projections.ThreadQuery) {}},
		{"account link", func(q *projections.ThreadQuery) { q.AccountLinkID = "acl_1" }},
		{"platform", func(q *projections.ThreadQuery) { q.Platform = "instagram" }},
		{"assignee", func(q *projections.ThreadQuery) { q.AssigneeMemberID = "mem_1" }},
		{"unassigned", func(q *projections.ThreadQuery) { q.Unassigned = true }},
		{"tag", func(q *projections.ThreadQuery) { q.TagID = "tag_1" }},
		{"status", func(q *projections.ThreadQuery) { q.StatusID = "sta_1" }},
		{"prospect", func(q *projections.ThreadQuery) { q.ProspectID = "pro_1" }},
		{"platform+assignee+tag", func(q *projections.ThreadQuery) {
			q.Platform, q.AssigneeMemberID, q.TagID = "instagram", "mem_1", "tag_1"
		}},
	}
	views := map[projections.View]string{projections.ViewInbox: "inbox", projections.ViewNoReply: "no reply",
		projections.ViewRequests: "requests", projections.ViewArchived: "archived", projections.ViewAll: "all"}

	type query struct {
		name  string
		sql   string
		args  []any
		table string // the alias of the table the query pages through
		outer string // the start of the plan's first search: the page's order (threads only)
	}
	var queries []query
	for v, vname := range views {
		for _, f := range filters {
			for _, page := range []*projections.SortKey{nil, after} {
				q := projections.ThreadQuery{TeamID: "tea_1", View: v, Limit: 51, After: page}
				f.set(&q)
				sql, args := rmThreadsSQL(q)
				_, sort := q.Source()
				outer := "SEARCH " + sort + " USING "
				if q.TagID != "" {
					outer = "SEARCH k USING PRIMARY KEY (team_id=? AND tag_id=?"
				}
				queries = append(queries, query{fmt.Sprintf("threads %s, filter %s, after %v", vname, f.name, page != nil), sql, args, sort, outer})
			}
		}
	}
	for _, pq := range []projections.ProspectQuery{
		{TeamID: "tea_1", Limit: 51},
		{TeamID: "tea_1", Platform: "instagram", Limit: 51},
		{TeamID: "tea_1", StatusID: "sta_1", Limit: 51, After: after},
		{TeamID: "tea_1", TagID: "tag_1", Limit: 51},
	} {
		sql, args := rmProspectsSQL(pq)
		queries = append(queries, query{fmt.Sprintf("prospects %+v", pq), sql, args, "p", ""})
	}
	msql, margs := rmMessagesSQL(projections.MessageQuery{TeamID: "tea_1", ThreadID: "thr_1", Limit: 51, After: after})
	queries = append(queries, query{"messages of a thread", msql, margs, "m", ""})
	queries = append(queries,
		query{"threads of a prospect (projection)", rmThreadSelect + " WHERE t.team_id = ? AND t.prospect_id = ?", []any{"tea_1", "pro_1"}, "t", ""},
		query{"thread by id", rmThreadSelect + " WHERE t.team_id = ? AND t.id = ?", []any{"tea_1", "thr_1"}, "t", ""},
		query{"api key by hash", rmAPIKeySelect + " WHERE x.hash = ?", []any{"h"}, "x", ""},
		query{"account link by id", rmAccountLinkSelect + " WHERE x.id = ? ORDER BY x.team_id LIMIT 1", []any{"acl_1"}, "x", ""},
		// What keeps thread_tags, in every batch of messages and every tagging.
		query{"tagged prospects of a batch", rmTaggedProspectsSQL, []any{`["pro_1","pro_2"]`, "tea_1"}, "pt", "SCAN j VIRTUAL TABLE"},
		query{"tags of a new thread", rmInsertThreadTagsSQL, []any{1, "thr_1", false, false, "inbound", "tea_1", "pro_1"}, "pt", ""},
		query{"tags of a thread", rmMoveThreadTagsSQL, []any{2, false, false, "inbound", "tea_1", "tea_1", "pro_1", 1, "thr_1"}, "thread_tags", ""},
		query{"a prospect's threads tagged", rmTagThreadsSQL, []any{"tag_1", "tea_1", "pro_1"}, "t", ""},
		query{"a prospect's threads untagged", rmUntagThreadsSQL, []any{"tea_1", "tag_1", "tea_1", "pro_1"}, "thread_tags", ""},
	)

	db := s.c().r
	for _, q := range queries {
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		searched := false
		for _, d := range plan {
			if strings.HasPrefix(d, "SCAN ") && !strings.HasPrefix(d, "SCAN j VIRTUAL TABLE") { // the batch's ids
				t.Errorf("%s: walks a whole table or index (%q)\n%s\nplan: %q", q.name, d, q.sql, plan)
			}
			if strings.HasPrefix(d, "USE TEMP B-TREE") && q.table != "x" {
				// A page sorted after the fact reads every matching row first.
				t.Errorf("%s: sorts every match (%q)\n%s\nplan: %q", q.name, d, q.sql, plan)
			}
			if strings.HasPrefix(d, "SEARCH "+q.table+" USING ") {
				searched = true
			}
		}
		if !searched {
			t.Errorf("%s: does not search an index of %s\n%s\nplan: %q", q.name, q.table, q.sql, plan)
		}
		if q.outer != "" && (len(plan) == 0 || !strings.HasPrefix(plan[0], q.outer)) {
			t.Errorf("%s: the plan does not start with %q\n%s\nplan: %q", q.name, q.outer, q.sql, plan)
		}
		if testing.Verbose() {
			t.Logf("%s: %q", q.name, plan)
		}
	}
}

// TestReadModelDropsFilterIndexes: a read model made by an earlier release loses the thread
// indexes no query needs any more when it opens, keeping its rows.
func TestReadModelDropsFilterIndexes(t *testing.T) {
	path := t.TempDir() + "/readmodel.db"
	s, err := OpenReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	w := s.c().w
	for _, q := range []string{
		"CREATE INDEX threads_link ON threads (team_id, account_link_id, last_message_at, id)",
		"CREATE INDEX threads_platform ON threads (team_id, platform, last_message_at, id)",
		"INSERT INTO teams (id, name, created_at) VALUES ('tea_1', 'Acme', 1)",
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = OpenReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.c().r.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('threads_link', 'threads_platform')").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d of the dropped thread indexes are still there", n)
	}
	if _, err := s.Team(context.Background(), "tea_1"); err != nil {
		t.Errorf("the team written before reopening: %v", err)
	}
}

// TestReadModelFillsThreadTagsOfAnEarlierFile: a read model made by a release without
// thread_tags gets it filled from its threads and tags when it opens, so the tag filter
// finds the threads tagged before the upgrade, and keeps it from then on.
func TestReadModelFillsThreadTagsOfAnEarlierFile(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/readmodel.db"
	s, err := OpenReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	const team = "tea_1"
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	thread := func(id, prospect string, minute int, done bool) projections.Thread {
		return projections.Thread{ID: id, TeamID: team, ProspectID: prospect, Platform: "messenger",
			LastMessageDirection: "inbound", LastMessageAt: t0.Add(time.Duration(minute) * time.Minute), CreatedAt: t0, Done: done}
	}
	err = s.Update(ctx, func(tx projections.Tx) error {
		for _, err := range []error{
			tx.PutTag(projections.Tag{TeamID: team, ID: "tag_1", Name: "vip"}),
			tx.AddProspectTag(team, "prs_a", "tag_1"),
			tx.PutThread(thread("thr_a1", "prs_a", 1, false)),
			tx.PutThread(thread("thr_a2", "prs_a", 2, true)),
			tx.PutThread(thread("thr_b", "prs_b", 3, false)),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// What an earlier release left: no thread_tags.
	if _, err := s.c().w.Exec("DROP TABLE thread_tags"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = OpenReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := func(q projections.ThreadQuery) string {
		t.Helper()
		q.TeamID, q.TagID, q.Limit = team, "tag_1", 10
		ts, err := s.Threads(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, th := range ts {
			out = append(out, th.ID)
		}
		return strings.Join(out, " ")
	}
	if got := ids(projections.ThreadQuery{View: projections.ViewAll}); got != "thr_a2 thr_a1" {
		t.Errorf("ALL tagged after the upgrade: %q, want %q", got, "thr_a2 thr_a1")
	}
	if got := ids(projections.ThreadQuery{View: projections.ViewArchived}); got != "thr_a2" {
		t.Errorf("ARCHIVED tagged after the upgrade: %q, want %q", got, "thr_a2")
	}
	// A thread's new message moves it within its tag.
	if err := s.Update(ctx, func(tx projections.Tx) error { return tx.PutThread(thread("thr_a1", "prs_a", 4, false)) }); err != nil {
		t.Fatal(err)
	}
	if got := ids(projections.ThreadQuery{View: projections.ViewAll}); got != "thr_a1 thr_a2" {
		t.Errorf("ALL tagged after a new message: %q, want %q", got, "thr_a1 thr_a2")
	}
}
