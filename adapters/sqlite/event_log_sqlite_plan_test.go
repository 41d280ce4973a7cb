package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// TestEventLogQueriesUseIndexes asks SQLite how it would run every read of the event log
// (Read with each filter alone and all together, Consume, ConsumeTypes, ReadStream, Head, and
// the append's lookups) and fails if any walks the table instead of searching an index or a
// rowid range, or sorts its matches: the log keeps only the indexes these need.
func TestEventLogQueriesUseIndexes(t *testing.T) {
	l := openTestLog(t, filepath.Join(t.TempDir(), "events.db"))
	ctx := context.Background()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	type query struct {
		name string
		sql  string
		args []any
		want string // what the plan must search with
	}
	rowid := "USING INTEGER PRIMARY KEY (rowid>?"
	var queries []query
	for _, q := range []struct {
		name string
		q    eventlog.Query
	}{
		{"read", eventlog.Query{TeamID: "tea_1", Limit: 50}},
		{"read after", eventlog.Query{TeamID: "tea_1", After: eventlog.Cursor{0: 42}, Limit: 50}},
		{"read types", eventlog.Query{TeamID: "tea_1", Types: []string{"a", "b"}, Limit: 50}},
		{"read key", eventlog.Query{TeamID: "tea_1", Key: "pro_1", Limit: 50}},
		{"read time range", eventlog.Query{TeamID: "tea_1", From: at, To: at.Add(time.Hour), Limit: 50}},
		{"read everything", eventlog.Query{TeamID: "tea_1", After: eventlog.Cursor{0: 42}, Types: []string{"a"}, Key: "pro_1", From: at, To: at.Add(time.Hour), Limit: 50}},
	} {
		sql, args := readSQL(q.q)
		want := rowid
		if q.q.Key != "" {
			want = "USING INDEX events_team_key_version (team_id=? AND key=?)"
		}
		queries = append(queries, query{q.name, sql, args, want})
	}
	queries = append(queries,
		query{"consume", sqlConsume, []any{42, consumeBatch}, rowid},
		query{"consume types", consumeTypesSQL(2), []any{42, 99, "a", "b", consumeBatch}, "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"},
		query{"head", sqlHead, nil, "events"},
		query{"event by id", sqlEventByID, []any{"evt_1"}, "USING INDEX sqlite_autoindex_events_1 (event_id=?)"},
		query{"stream head", sqlStreamHead, []any{"tea_1", "pro_1"}, "USING COVERING INDEX events_team_key_version (team_id=? AND key=?)"},
		query{"read stream", sqlReadStream, []any{"tea_1", "pro_1", 3, 50}, "USING INDEX events_team_key_version (team_id=? AND key=? AND version>?)"},
	)
	for _, q := range queries {
		rows, err := l.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql, q.args...)
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
			if strings.HasPrefix(d, "SCAN ") {
				t.Errorf("%s: walks the whole table (%q)\n%s\nplan: %q", q.name, d, q.sql, plan)
			}
			if strings.HasPrefix(d, "USE TEMP B-TREE") {
				t.Errorf("%s: sorts every match (%q)\n%s\nplan: %q", q.name, d, q.sql, plan)
			}
			if strings.HasPrefix(d, "SEARCH events "+q.want) || (q.want == "events" && strings.HasPrefix(d, "SEARCH events")) {
				searched = true
			}
		}
		if !searched {
			t.Errorf("%s: does not search %s\n%s\nplan: %q", q.name, q.want, q.sql, plan)
		}
		if testing.Verbose() {
			t.Logf("%s: %q", q.name, plan)
		}
	}
}

// TestEventLogDropsReadIndexes: a file of an earlier release loses the (team, ..., position)
// indexes when it opens, keeping its events, and the log keeps exactly the indexes its reads
// and appends need.
func TestEventLogDropsReadIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l := openTestLog(t, path)
	ev := eventlogtest.NewEvent("tea_1", "pro_1", domain.ThreadRead{ThreadID: "thr_1", ProspectID: "pro_1"})
	if _, err := l.Append(context.Background(), []domain.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.db.Exec(oldEventIndexes); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, path)
	rows, err := l.db.Query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	if want := []string{"events_team_key_version", "sqlite_autoindex_events_1"}; !slices.Equal(names, want) {
		t.Errorf("the event log's indexes are %q, want %q", names, want)
	}
	recs, err := l.Read(context.Background(), eventlog.Query{TeamID: "tea_1", Limit: 10})
	if err != nil || len(recs) != 1 || recs[0].Event.ID != ev.ID {
		t.Errorf("the event appended before reopening: %v, %v", recs, err)
	}
	var cache int
	if err := l.db.QueryRow("PRAGMA cache_size").Scan(&cache); err != nil || cache != -eventLogCacheKiB {
		t.Errorf("cache_size = %d (%v), want %d", cache, err, -eventLogCacheKiB)
	}
}
