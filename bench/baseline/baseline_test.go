package baseline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	switchboardv1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
	"github.com/switchboard-oss/switchboard/search"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// genRows makes n rows spread over a few threads, as the benchmark would.
func genRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{
			ID:                fmt.Sprintf("msg_%08d", i),
			TeamID:            "team_1",
			ThreadID:          fmt.Sprintf("thr_%03d", i%50),
			ProspectID:        fmt.Sprintf("pro_%03d", i%50),
			AccountLinkID:     fmt.Sprintf("acc_%d", i%3),
			PlatformMessageID: fmt.Sprintf("pm_%08d", i),
			Outbound:          i%2 == 0,
			Text:              fmt.Sprintf("message number %d about the price of things", i),
			SentAt:            t0.Add(time.Duration(i) * time.Second),
		}
	}
	return rows
}

func TestSQLiteInsertStoresEveryRow(t *testing.T) {
	dir := t.TempDir()
	d, err := SQLiteInsert(context.Background(), dir, genRows(5000), 500)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Errorf("duration = %v, want > 0", d)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM messages").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 5000 {
		t.Errorf("rows in file = %d, want 5000", n)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

func TestSQLiteInsertStartsFresh(t *testing.T) {
	dir := t.TempDir()
	rows := genRows(100)
	for range 2 { // the same ids twice: a leftover file would fail on the primary key
		if _, err := SQLiteInsert(context.Background(), dir, rows, 30); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSQLiteInsertRejectsBadBatch(t *testing.T) {
	_, err := SQLiteInsert(context.Background(), t.TempDir(), genRows(10), 0)
	if err == nil || !strings.Contains(err.Error(), "batch") {
		t.Fatalf("err = %v, want an error naming batch", err)
	}
}

func TestPostgresCopyLoadsAndDropsSchema(t *testing.T) {
	url := testenv.PostgresURL(t)
	ctx := context.Background()
	var schema string
	var counted int64
	d, err := postgresCopy(ctx, url, genRows(5000), func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT current_schema(), (SELECT count(*) FROM messages)").Scan(&schema, &counted)
	})
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Errorf("duration = %v, want > 0", d)
	}
	if counted != 5000 {
		t.Errorf("rows copied = %d, want 5000", counted)
	}
	if !strings.HasPrefix(schema, "baseline_") {
		t.Fatalf("copied into schema %q, want a fresh baseline_ schema", schema)
	}
	if schemaExists(t, url, schema) {
		t.Errorf("schema %s still exists after PostgresCopy", schema)
	}
	// The exported function, for what it returns.
	if d, err := PostgresCopy(ctx, url, genRows(100)); err != nil || d <= 0 {
		t.Errorf("PostgresCopy = %v, %v; want > 0, nil", d, err)
	}
}

func TestToTSQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"Hello", "'hello'"},
		{"hello WORLD", "'hello' & 'world'"},
		{`"hello world"`, "('hello' <-> 'world')"},
		{`"  Hello   big world "`, "('hello' <-> 'big' <-> 'world')"},
		{`"one"`, "'one'"},
		{`""`, ""},
		{"pric*", "'pric':*"},
		{"pric**", "'pric':*"},
		{"-hello", "!'hello'"},
		{`-"a b"`, "!('a' <-> 'b')"},
		{"- a", "'a'"},
		{"world -hello pri*", "'world' & 'pri':* & !'hello'"},
		{"it's", "'it''s'"},
		{`a\b`, `'a\\b'`},
		{"a:b|c&!d", "'a:b|c&!d'"},
		{"& | ! <-> :* ()", ""},
		{"x\x00y", "'xy'"},
		{"Ünïcode", "'ünïcode'"},
	} {
		if got, err := ToTSQuery(tc.in); err != nil || got != tc.want {
			t.Errorf("ToTSQuery(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// What SearchMessages refuses, the baseline refuses too: one parser for both.
	for _, bad := range []string{`"unclosed phrase`, "*", "\xff"} {
		if got, err := ToTSQuery(bad); err == nil {
			t.Errorf("ToTSQuery(%q) = %q, want the error SearchMessages gives", bad, got)
		}
	}
}

// ftsRows are the messages the search test knows the answers for; team_2 must never show up.
var ftsRows = []Row{
	{ID: "m1", TeamID: "team_1", AccountLinkID: "acc_1", Outbound: false, Text: "Hello world, the price is right"},
	{ID: "m2", TeamID: "team_1", AccountLinkID: "acc_1", Outbound: true, Text: "World peace and pricing plans"},
	{ID: "m3", TeamID: "team_1", AccountLinkID: "acc_2", Outbound: false, Text: "hello there, world"},
	{ID: "m4", TeamID: "team_1", AccountLinkID: "acc_2", Outbound: true, Text: "The world is big; hello again"},
	{ID: "m5", TeamID: "team_1", AccountLinkID: "acc_1", Outbound: false, Text: "Pricey items: don't buy"},
	{ID: "m6", TeamID: "team_2", AccountLinkID: "acc_3", Outbound: false, Text: "hello world"},
}

func newFTS(t *testing.T) *PostgresFTS {
	t.Helper()
	url := testenv.PostgresURL(t)
	rows := slices.Clone(ftsRows)
	for i := range rows {
		rows[i].ThreadID, rows[i].ProspectID = "thr_"+rows[i].ID, "pro_"+rows[i].ID
		rows[i].PlatformMessageID = "pm_" + rows[i].ID
		rows[i].SentAt = t0.Add(time.Duration(i) * time.Minute) // m1 oldest … m6 newest
	}
	f, d, err := NewPostgresFTS(context.Background(), url, rows)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	if d <= 0 {
		t.Errorf("load duration = %v, want > 0", d)
	}
	return f
}

func TestPostgresFTSSearch(t *testing.T) {
	f := newFTS(t)
	ctx := context.Background()
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		q       FTSQuery
		want    []string // sorted, unless ordered
		ordered bool
	}{
		{"word", FTSQuery{Text: "world"}, []string{"m1", "m2", "m3", "m4"}, false},
		{"case-insensitive", FTSQuery{Text: "HELLO"}, []string{"m1", "m3", "m4"}, false},
		{"two words", FTSQuery{Text: "hello world"}, []string{"m1", "m3", "m4"}, false},
		{"phrase is adjacent words", FTSQuery{Text: `"hello world"`}, []string{"m1"}, false},
		{"prefix", FTSQuery{Text: "pric*"}, []string{"m1", "m2", "m5"}, false},
		{"exclusion", FTSQuery{Text: "world -hello"}, []string{"m2"}, false},
		{"exclusion alone", FTSQuery{Text: "-world"}, []string{"m5"}, false},
		{"excluded phrase", FTSQuery{Text: `world -"hello world"`}, []string{"m2", "m3", "m4"}, false},
		{"apostrophe word", FTSQuery{Text: "don't"}, []string{"m5"}, false},
		{"no text is every message of the team", FTSQuery{}, []string{"m1", "m2", "m3", "m4", "m5"}, false},
		{"account link filter", FTSQuery{Text: "world", AccountLinkID: "acc_1"}, []string{"m1", "m2"}, false},
		{"outbound filter", FTSQuery{Text: "world", Outbound: &yes}, []string{"m2", "m4"}, false},
		{"both filters", FTSQuery{Text: "world", AccountLinkID: "acc_2", Outbound: &no}, []string{"m3"}, false},
		{"newest first", FTSQuery{Text: "world", Newest: true}, []string{"m4", "m3", "m2", "m1"}, true},
		{"no match", FTSQuery{Text: "zebra"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.TeamID = "team_1"
			ids, total, err := f.search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.ordered {
				slices.Sort(ids)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("ids = %v, want %v", ids, tc.want)
			}
			if total != int64(len(tc.want)) {
				t.Errorf("total = %d, want %d", total, len(tc.want))
			}
			page, total2, err := f.Search(ctx, tc.q)
			if err != nil || page != len(tc.want) || total2 != total {
				t.Errorf("Search = %d, %d, %v; want %d, %d, nil", page, total2, err, len(tc.want), total)
			}
		})
	}
}

func TestPostgresFTSPages(t *testing.T) {
	f := newFTS(t)
	page, total, err := f.Search(context.Background(), FTSQuery{Text: "world", TeamID: "team_1", Limit: 2})
	if err != nil || page != 2 || total != 4 {
		t.Errorf("Search(limit 2) = %d, %d, %v; want 2, 4, nil", page, total, err)
	}
}

func TestPostgresFTSRanksByRelevanceUnlessNewest(t *testing.T) {
	rows := []Row{ // the oldest mentions the word most
		{ID: "r1", TeamID: "team_1", Text: "world world world, the whole world", SentAt: t0},
		{ID: "r2", TeamID: "team_1", Text: "a world", SentAt: t0.Add(time.Minute)},
		{ID: "r3", TeamID: "team_1", Text: "another world", SentAt: t0.Add(2 * time.Minute)},
	}
	f, _, err := NewPostgresFTS(context.Background(), testenv.PostgresURL(t), rows)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, _, err := f.search(context.Background(), FTSQuery{Text: "world", TeamID: "team_1"})
	if err != nil || len(ids) == 0 || ids[0] != "r1" {
		t.Errorf("by relevance: %v, %v; want r1 first", ids, err)
	}
	ids, _, err = f.search(context.Background(), FTSQuery{Text: "world", TeamID: "team_1", Newest: true})
	if err != nil || !slices.Equal(ids, []string{"r3", "r2", "r1"}) {
		t.Errorf("newest: %v, %v; want [r3 r2 r1]", ids, err)
	}
}

func TestPostgresFTSHostileTextDoesNotError(t *testing.T) {
	f := newFTS(t)
	ctx := context.Background()
	for _, text := range []string{
		`it's`, `'`, `''`, `"`, `"a:b" & c | !d`, `hello:*`, `world:A`, `a\`, `\`, `\'`, `&`, `|`, `!`,
		`<->`, `()`, `(hello`, `hello)`, `-`, `--world`, `-"`, `*`, `hello & world`, `'; DROP TABLE messages; --`,
		"bad\xffutf8", "nul\x00byte",
	} {
		_, _, err := f.Search(ctx, FTSQuery{Text: text, TeamID: "team_1"})
		// What SearchMessages refuses is refused with its own error before PostgreSQL sees it;
		// everything else reaches PostgreSQL and must not make it fail.
		if _, perr := search.ParseQuery(text); perr != nil {
			if err == nil || domain.KindOf(err) != domain.KindInvalid {
				t.Errorf("Search(%q): %v, want the parser's refusal (%v)", text, err, perr)
			}
		} else if err != nil {
			t.Errorf("Search(%q): %v", text, err)
		}
	}
	// Still there, and the operators in the text were not read as operators.
	if _, total, err := f.Search(ctx, FTSQuery{Text: "hello & world", TeamID: "team_1"}); err != nil || total != 3 {
		t.Errorf(`Search("hello & world") total = %d, %v; want 3 (the & is no operator)`, total, err)
	}
}

func TestPostgresFTSCloseDropsSchema(t *testing.T) {
	f := newFTS(t)
	schema := f.schema
	f.Close()
	f.Close() // idempotent
	if schemaExists(t, testenv.PostgresURL(t), schema) {
		t.Errorf("schema %s still exists after Close", schema)
	}
}

// schemaExists reports whether PostgreSQL at url has the schema.
func schemaExists(t *testing.T, url, schema string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT exists(SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

// protoRecorder notes the protocol of every response, to prove which one a client spoke.
type protoRecorder struct {
	next   http.RoundTripper
	protos []string
}

func (p *protoRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err == nil {
		p.protos = append(p.protos, resp.Proto)
	}
	return resp, err
}

func TestNoopConnect(t *testing.T) {
	addr, stop, err := NoopConnect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	var h2c, h1 http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	h1.SetHTTP1(true)
	for _, tc := range []struct {
		name   string
		protos *http.Protocols
		opts   []connect.ClientOption
		want   string
	}{
		{"connect over h2c", &h2c, nil, "HTTP/2.0"},
		{"grpc over h2c", &h2c, []connect.ClientOption{connect.WithGRPC()}, "HTTP/2.0"},
		{"connect over HTTP/1.1", &h1, nil, "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{Protocols: tc.protos}
			defer tr.CloseIdleConnections()
			rec := &protoRecorder{next: tr}
			client := switchboardv1connect.NewIngestServiceClient(&http.Client{Transport: rec}, "http://"+addr, tc.opts...)
			for range 3 {
				resp, err := client.IngestMessage(context.Background(), connect.NewRequest(&switchboardv1.IngestMessageRequest{
					AccountLinkId: "acc_1", PlatformMessageId: "pm_1", Text: "hi",
				}))
				if err != nil {
					t.Fatal(err)
				}
				if resp.Msg == nil {
					t.Fatal("nil response message")
				}
			}
			for _, p := range rec.protos {
				if p != tc.want {
					t.Errorf("spoke %s, want %s", p, tc.want)
				}
			}
		})
	}

	stop()
	stop() // idempotent
	client := switchboardv1connect.NewIngestServiceClient(&http.Client{Timeout: 2 * time.Second}, "http://"+addr)
	_, err = client.IngestMessage(context.Background(), connect.NewRequest(&switchboardv1.IngestMessageRequest{}))
	if err == nil {
		t.Fatal("IngestMessage succeeded after stop")
	}
	if ce := new(connect.Error); errors.As(err, &ce) && ce.Code() != connect.CodeUnavailable {
		t.Errorf("after stop: %v, want unavailable (connection refused)", err)
	}
}
