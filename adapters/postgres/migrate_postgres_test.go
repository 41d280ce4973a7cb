package postgres

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-oss/switchboard/projections"
)

type pgAppliedMigration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

func pgApplied(t *testing.T, admin *pgx.Conn, schema string) []pgAppliedMigration {
	t.Helper()
	rows, _ := admin.Query(context.Background(), "SELECT version, name, applied_at FROM "+
		pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" ORDER BY version")
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[pgAppliedMigration])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pgTables(t *testing.T, admin *pgx.Conn, schema string) []string {
	t.Helper()
	rows, _ := admin.Query(context.Background(), "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", schema)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The migrations recorded are exactly the embedded files, and applying them again changes
// nothing.
func TestMigrateTwiceIsANoOp(t *testing.T) {
	u, schema, admin := pgTestURL(t), pgTestSchema(t), pgAdmin(t)
	ctx := context.Background()
	if err := Migrate(ctx, u, WithSchema(schema), WithLogger(pgQuiet)); err != nil {
		t.Fatal(err)
	}
	files, err := pgLoadMigrations(pgMigrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 || files[0].Version != 1 || files[0].Name != "read_model" {
		t.Fatalf("embedded migrations = %+v, want 001_read_model first", files)
	}
	first := pgApplied(t, admin, schema)
	if len(first) != len(files) {
		t.Fatalf("recorded %d migrations, want %d", len(first), len(files))
	}
	for i, f := range files {
		if first[i].Version != f.Version || first[i].Name != f.Name {
			t.Errorf("recorded migration %d = %03d_%s, want %03d_%s", i, first[i].Version, first[i].Name, f.Version, f.Name)
		}
	}
	tables := pgTables(t, admin, schema)
	for _, want := range []string{"checkpoints", "credentials", "idempotency", "messages", "schema_migrations", "threads"} {
		if !strings.Contains(strings.Join(tables, " "), want) {
			t.Errorf("tables %v lack %s", tables, want)
		}
	}

	if err := Migrate(ctx, u, WithSchema(schema), WithLogger(pgQuiet)); err != nil {
		t.Fatal(err)
	}
	if again := pgApplied(t, admin, schema); !reflect.DeepEqual(first, again) {
		t.Errorf("second Migrate changed schema_migrations:\nbefore %+v\nafter  %+v", first, again)
	}
	if again := pgTables(t, admin, schema); !reflect.DeepEqual(tables, again) {
		t.Errorf("second Migrate changed the tables: %v, then %v", tables, again)
	}
}

// Processes starting together on a fresh schema all succeed, and apply each migration once.
func TestMigrateConcurrently(t *testing.T) {
	u, schema, admin := pgTestURL(t), pgTestSchema(t), pgAdmin(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Migrate(context.Background(), u, WithSchema(schema), WithLogger(pgQuiet))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	files, _ := pgLoadMigrations(pgMigrationFiles)
	if got := pgApplied(t, admin, schema); len(got) != len(files) {
		t.Errorf("recorded %d migrations, want %d", len(got), len(files))
	}
}

// A failing migration leaves the database as it was, schema included; the next run applies
// everything once it is fixed, and later files on top of what is recorded.
func TestMigrateIsAllOrNothing(t *testing.T) {
	u, schema, admin := pgTestURL(t), pgTestSchema(t), pgAdmin(t)
	ctx := context.Background()
	o := pgOptions{schema: schema, logger: pgQuiet}
	bad := fstest.MapFS{
		"001_first.up.sql":  {Data: []byte("CREATE TABLE first (id int PRIMARY KEY);")},
		"002_broken.up.sql": {Data: []byte("CREATE TABLE broken (id int PRIMARY KEY); INSERT INTO nowhere VALUES (1);")},
	}
	err := pgMigrate(ctx, u, o, bad)
	if err == nil || !strings.Contains(err.Error(), "002_broken") {
		t.Fatalf("Migrate with a broken migration = %v, want an error naming 002_broken", err)
	}
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s exists after a failed migration: %v", schema, pgTables(t, admin, schema))
	}

	good := fstest.MapFS{"001_first.up.sql": bad["001_first.up.sql"],
		"002_broken.up.sql": {Data: []byte("CREATE TABLE broken (id int PRIMARY KEY);")}}
	if err := pgMigrate(ctx, u, o, good); err != nil {
		t.Fatal(err)
	}
	good["003_more.up.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE first ADD COLUMN name text;")}
	if err := pgMigrate(ctx, u, o, good); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range pgApplied(t, admin, schema) {
		got = append(got, fmt.Sprintf("%03d_%s", m.Version, m.Name))
	}
	if want := []string{"001_first", "002_broken", "003_more"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
}

func TestMigrationFileNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"unnumbered":      {"first.up.sql": {}},
		"short number":    {"1_first.up.sql": {}},
		"not up":          {"001_first.sql": {}},
		"upper case":      {"001_First.up.sql": {}},
		"same version":    {"001_a.up.sql": {}, "001_b.up.sql": {}},
		"folder in there": {"001_a.up.sql/x": {}},
	} {
		if ms, err := pgLoadMigrations(fsys); err == nil {
			t.Errorf("%s: loaded %+v, want an error", name, ms)
		}
	}
	ms, err := pgLoadMigrations(fstest.MapFS{"010_c.up.sql": {}, "002_b.up.sql": {}, "001_a.up.sql": {}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Version != 1 || ms[1].Version != 2 || ms[2].Version != 10 {
		t.Errorf("migrations out of version order: %+v", ms)
	}
}

func TestMigrateRefusesBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Migrate(ctx, ""); err == nil {
		t.Error("Migrate with an empty URL succeeded")
	}
	const secret = "hunter2-secret"
	err := Migrate(ctx, "postgres://user:"+secret+"@127.0.0.1:5432/db?sslmode=bogus")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("Migrate with a bad URL = %v; want an error without the password", err)
	}
	if err := Migrate(ctx, pgDefaultTestURL, WithSchema(strings.Repeat("x", 64))); err == nil {
		t.Error("Migrate with a 64-byte schema name succeeded")
	}
}

// Migration 019 fills thread_tags from what a read model of the previous release holds, so
// the tag filter finds the threads tagged before the upgrade; writes keep it from then on.
func TestMigrationFillsThreadTags(t *testing.T) {
	u, schema, admin := pgTestURL(t), pgTestSchema(t), pgAdmin(t)
	ctx := context.Background()
	files, err := pgLoadMigrations(pgMigrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	earlier := fstest.MapFS{}
	for _, m := range files {
		if m.Version < 19 {
			earlier[fmt.Sprintf("%03d_%s.up.sql", m.Version, m.Name)] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	if err := pgMigrate(ctx, u, pgOptions{schema: schema, logger: pgQuiet}, earlier); err != nil {
		t.Fatal(err)
	}
	const team = "tea_1"
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SET LOCAL search_path = " + pgx.Identifier{schema}.Sanitize(),
		"INSERT INTO tags (team_id, id, name, color) VALUES ('tea_1', 'tag_1', 'vip', '')",
		"INSERT INTO prospect_tags (team_id, prospect_id, tag_id) VALUES ('tea_1', 'prs_a', 'tag_1')",
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for i, th := range []struct {
		id, prospect string
		done         bool
	}{{"thr_a1", "prs_a", false}, {"thr_a2", "prs_a", true}, {"thr_b", "prs_b", false}} {
		_, err := tx.Exec(ctx, `INSERT INTO threads (team_id, id, platform, platform_id, account_link_id, prospect_id,
			assignee_member_id, done, request, last_message_id, last_message_text, last_message_direction,
			last_message_at, unread_count, message_count, created_at)
			VALUES ($1, $2, 'messenger', '', '', $3, '', $4, false, '', '', 'inbound', $5, 0, 1, $6)`,
			team, th.id, th.prospect, th.done, t0.Add(time.Duration(i+1)*time.Minute), t0)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	s, err := OpenReadModel(ctx, u, WithSchema(schema), WithLogger(pgQuiet))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := func(v projections.View) string {
		t.Helper()
		ts, err := s.Threads(ctx, projections.ThreadQuery{TeamID: team, View: v, TagID: "tag_1", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, th := range ts {
			out = append(out, th.ID)
		}
		return strings.Join(out, " ")
	}
	if got := ids(projections.ViewAll); got != "thr_a2 thr_a1" {
		t.Errorf("ALL tagged after the migration: %q, want %q", got, "thr_a2 thr_a1")
	}
	if got := ids(projections.ViewArchived); got != "thr_a2" {
		t.Errorf("ARCHIVED tagged after the migration: %q, want %q", got, "thr_a2")
	}
	// A thread's new message moves it within its tag.
	err = s.Update(ctx, func(tx projections.Tx) error {
		th, err := tx.GetThread(team, "thr_a1")
		if err != nil {
			return err
		}
		th.LastMessageAt = t0.Add(time.Hour)
		return tx.PutThread(th)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(projections.ViewAll); got != "thr_a1 thr_a2" {
		t.Errorf("ALL tagged after a new message: %q, want %q", got, "thr_a1 thr_a2")
	}
}
