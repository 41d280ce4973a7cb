package sqlitefts

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/search"
)

// The search behaviour suite runs through the real server (server/search_component_test.go);
// these tests pin what is this adapter's own: the analysis, highlights, stable scores, FTS5
// syntax in user queries, the key order, the candidate cap, the checkpoint and the schema
// version.

func openTest(t *testing.T) (*Index, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "search.db")
	x, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	return x, path
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func put(t *testing.T, x *Index, texts ...string) {
	t.Helper()
	var docs []search.Doc
	for i, text := range texts {
		docs = append(docs, search.Doc{TeamID: "team_1", MessageID: fmt.Sprintf("m%02d", i), ThreadID: "thr_1",
			Text: text, SentAt: t0.Add(time.Duration(i) * time.Minute)})
	}
	if err := x.Put(context.Background(), docs); err != nil {
		t.Fatal(err)
	}
}

func find(t *testing.T, x *Index, q string) []string {
	t.Helper()
	terms, err := search.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Search(context.Background(), search.Query{TeamID: "team_1", Terms: terms, Size: 100})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.MessageID)
	}
	slices.Sort(ids)
	return ids
}

func TestAnalysis(t *testing.T) {
	x, _ := openTest(t)
	put(t, x,
		"Déjà vu at the CAFÉ",          // m00
		"Привет, ёлка и йод",           // m01
		"مَرْحَبًا بِكَ",               // m02
		"東京大学で会いましょう",                  // m03
		"서울에서 만나요",                     // m04
		"สวัสดีครับ",                   // m05
		"great 👍🏽 ❤️ 🇫🇷 👨‍👩‍👧",         // m06
		"ＦＵＬＬ width ﬁne",               // m07
		"Ελληνικά καλημέρα",            // m08
		"שָׁלוֹם",                      // m09
		"invoice.pdf sent",             // m10
		"نحن في ٢٠٢٦ and Straße İzmir", // m11
	)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"deja", []string{"m00"}}, {"DÉJÀ", []string{"m00"}}, {"cafe", []string{"m00"}},
		{"привет", []string{"m01"}}, {"елка", []string{"m01"}}, {"ёлка", []string{"m01"}},
		{"иод", nil}, // й is its own letter
		{"مرحبا", []string{"m02"}}, {"بك", []string{"m02"}},
		{"東京", []string{"m03"}}, {"大学", []string{"m03"}}, {"東京大学", []string{"m03"}}, {"京都", nil},
		{"東*", []string{"m03"}}, {"会い", []string{"m03"}},
		{"서울", []string{"m04"}}, {"만나요", []string{"m04"}},
		{"สวัสดี", []string{"m05"}}, {"ครับ", []string{"m05"}},
		{"👍", []string{"m06"}}, {"👍🏻", []string{"m06"}}, {"❤", []string{"m06"}}, {"❤️", []string{"m06"}},
		{"🇫🇷", []string{"m06"}}, {"👨‍👩‍👧", []string{"m06"}}, {"🇩🇪", nil},
		{"full", []string{"m07"}}, {"fine", []string{"m07"}},
		{"ελληνικα", []string{"m08"}}, {"ΚΑΛΗΜΕΡΑ", []string{"m08"}},
		{"שלום", []string{"m09"}},
		{"invoice.pdf", []string{"m10"}}, {"invoice*", []string{"m10"}},
		{"strasse", []string{"m11"}}, {"izmir", []string{"m11"}}, {"٢٠٢٦", []string{"m11"}},
	} {
		if got := find(t, x, c.query); !slices.Equal(got, c.want) {
			t.Errorf("%q finds %v, want %v", c.query, got, c.want)
		}
	}
}

// Highlights are cut from the original text, HTML-escaped, with the matches in <mark>.
func TestHighlights(t *testing.T) {
	x, _ := openTest(t)
	put(t, x, "Un café <i>noir</i>, s'il vous plaît", strings.Repeat("filler ", 100)+"needle "+strings.Repeat("filler ", 100)+"needle")
	for _, c := range []struct{ query, want string }{
		{"cafe", "Un <mark>café</mark> &lt;i&gt;noir&lt;/i&gt;, s&#39;il vous plaît"},
		{`"s'il vous"`, "<mark>s&#39;il</mark> <mark>vous</mark>"},
		{"needle", "<mark>needle</mark>"},
	} {
		terms, _ := search.ParseQuery(c.query)
		res, err := x.Search(context.Background(), search.Query{TeamID: "team_1", Terms: terms, Size: 10})
		if err != nil || len(res.Hits) != 1 {
			t.Fatalf("%q: %v, %v", c.query, res, err)
		}
		if got := strings.Join(res.Hits[0].Highlights, " | "); !strings.Contains(got, c.want) {
			t.Errorf("%q: highlights %q, want %q in them", c.query, got, c.want)
		}
	}
	terms, _ := search.ParseQuery("needle")
	res, _ := x.Search(context.Background(), search.Query{TeamID: "team_1", Terms: terms, Size: 10})
	if n := len(res.Hits[0].Highlights); n != 2 {
		t.Errorf("two distant matches: %d fragments, want 2", n)
	}
}

// A hit's score depends on the hit and the query only, so relevance cursors do not drift as
// messages arrive.
func TestScoresIgnoreOtherDocuments(t *testing.T) {
	x, _ := openTest(t)
	ctx := context.Background()
	put(t, x, "refund please", "where is my refund, I asked for a refund twice")
	score := func() map[string]float64 {
		terms, _ := search.ParseQuery("refund asked")
		res, err := x.Search(ctx, search.Query{TeamID: "team_1", Terms: terms, Size: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, h := range res.Hits {
			out[h.MessageID] = h.Score
		}
		return out
	}
	before := score()
	var docs []search.Doc
	for i := range 200 {
		docs = append(docs, search.Doc{TeamID: "team_1", MessageID: fmt.Sprintf("x%03d", i), Text: "refund refund " + strings.Repeat("asked ", i%5)})
	}
	if err := x.Put(ctx, docs); err != nil {
		t.Fatal(err)
	}
	after := score()
	for id, s := range before {
		if after[id] != s {
			t.Errorf("%s scored %v, then %v once other messages arrived", id, s, after[id])
		}
	}
}

func TestTeamsAndGet(t *testing.T) {
	x, _ := openTest(t)
	ctx := context.Background()
	d := search.Doc{TeamID: "team_1", MessageID: "m1", ThreadID: "thr_1", ProspectID: "prs_1", AccountLinkID: "acc_1",
		Platform: "api", Direction: "inbound", Text: "hello", AttachmentNames: []string{"a.png"}, AttachmentTypes: []string{"image"},
		ProspectName: "Ann", ProspectUsername: "ann", SentAt: t0.Add(123456789 * time.Nanosecond)}
	if err := x.Put(ctx, []search.Doc{d, {TeamID: "team_2", MessageID: "m1", Text: "hello"}}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := x.Get(ctx, "team_1", "m1")
	if err != nil || !ok || got.SentAt != d.SentAt || got.Text != d.Text || !slices.Equal(got.AttachmentNames, d.AttachmentNames) || got.ProspectName != "Ann" {
		t.Fatalf("Get: %+v %v %v, want %+v", got, ok, err, d)
	}
	if _, ok, _ := x.Get(ctx, "team_3", "m1"); ok {
		t.Error("Get finds a message of another team")
	}
	res, err := x.Search(ctx, search.Query{TeamID: "team_2", Size: 10})
	if err != nil || res.Total != 1 || len(res.Hits) != 1 {
		t.Errorf("team_2 finds %+v, %v; want its one message", res, err)
	}
	if err := x.Delete(ctx, "team_2", []string{"m1"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := x.Get(ctx, "team_1", "m1"); !ok {
		t.Error("deleting team_2's m1 deleted team_1's")
	}
}

func TestCheckpointAndSchemaVersion(t *testing.T) {
	x, path := openTest(t)
	ctx := context.Background()
	if cp, err := x.Checkpoint(ctx); err != nil || len(cp) != 0 {
		t.Fatalf("new index checkpoint: %v, %v", cp, err)
	}
	put(t, x, "kept")
	if err := x.SetCheckpoint(ctx, eventlog.Cursor{0: 42}); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := x.Checkpoint(ctx); err != nil || cp[0] != 42 {
		t.Fatalf("reopened checkpoint: %v, %v", cp, err)
	}
	if got := find(t, x, "kept"); len(got) != 1 {
		t.Fatalf("reopened index finds %v", got)
	}
	// An index of another schema version is emptied, its checkpoint too: rebuilt from the log.
	if _, err := x.w.Exec(`UPDATE meta SET value = 'switchboard-fts-0' WHERE key = 'schema'`); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if cp, err := x.Checkpoint(ctx); err != nil || len(cp) != 0 {
		t.Fatalf("outdated index checkpoint: %v, %v", cp, err)
	}
	if got := find(t, x, "kept"); len(got) != 0 {
		t.Fatalf("outdated index still finds %v", got)
	}
	if err := x.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptFileIsRebuilt: a file whose bytes were overwritten is set aside at Open and
// replaced by an empty index, without checkpoint, so the projector rebuilds it from the log.
func TestCorruptFileIsRebuilt(t *testing.T) {
	x, path := openTest(t)
	ctx := context.Background()
	var docs []search.Doc
	for i := range 300 {
		docs = append(docs, search.Doc{TeamID: "team_1", MessageID: fmt.Sprintf("m%03d", i), Text: strings.Repeat("kept until damaged ", 10), SentAt: t0})
	}
	if err := x.Put(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := x.SetCheckpoint(ctx, eventlog.Cursor{0: 7}); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 4; i < len(b)*3/4; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	y, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if err := y.Ping(ctx); err != nil {
		t.Fatalf("rebuilt index: %v", err)
	}
	if cp, err := y.Checkpoint(ctx); err != nil || len(cp) != 0 {
		t.Fatalf("rebuilt index checkpoint: %v, %v (want empty: rebuilt from the log)", cp, err)
	}
	if y.Rebuilds() != 1 {
		t.Fatalf("rebuilds: %d", y.Rebuilds())
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) == 0 {
		t.Error("the corrupt file was not kept aside")
	}
}

// TestFTS5SyntaxIsText: FTS5's own operators, quotes, column filters and functions in a user's
// query are text (by the search rules), never FTS5 syntax: no query errors, and each finds what
// its words find.
func TestFTS5SyntaxIsText(t *testing.T) {
	x, _ := openTest(t)
	put(t, x,
		`say "hello" NOT now`,      // m00
		"AND OR NOT NEAR",          // m01
		"t_text: tags: {x} ^start", // m02
		"plain words",              // m03
	)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{`NOT`, []string{"m00", "m01"}},
		{`AND`, []string{"m01"}},
		{`OR NEAR`, []string{"m01"}},
		{`NOT(NEAR)`, []string{"m01"}}, // one word of two terms: a phrase
		{`"hello" NOT`, []string{"m00"}},
		{`hello"`, []string{"m00"}},
		{`"say ""hello"""`, []string{"m00"}},
		{`t_text:`, []string{"m02"}},
		{`tags:`, []string{"m02"}},
		{`{x}`, []string{"m02"}},
		{`^start`, []string{"m02"}},
		{`tags:*`, []string{"m02"}},
		{`te*`, nil}, // the tags column is never searched
		{`-NOT words`, []string{"m03"}},
		{`+ - ( ) : ^ {}`, []string{"m00", "m01", "m02", "m03"}}, // nothing searchable: filters only
		{`"`, nil}, // refused by the parser (unclosed quote): checked below
	} {
		terms, err := search.ParseQuery(c.query)
		if err != nil {
			if c.query != `"` {
				t.Errorf("%q: %v", c.query, err)
			}
			continue
		}
		res, err := x.Search(context.Background(), search.Query{TeamID: "team_1", Terms: terms, Size: 100})
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.MessageID)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%q finds %v, want %v", c.query, got, c.want)
		}
	}
}

// TestKeyOrderAndTimeRange: newest is sent_at order, whatever order messages arrive in (same
// microsecond included), pages neither repeat nor skip, and a time range selects [from, to).
func TestKeyOrderAndTimeRange(t *testing.T) {
	x, _ := openTest(t)
	ctx := context.Background()
	var docs []search.Doc
	sent := map[string]time.Time{}
	for i := range 60 {
		at := t0.Add(time.Duration((i*37)%20) * time.Second) // out of order, three per second
		id := fmt.Sprintf("m%02d", i)
		sent[id] = at
		docs = append(docs, search.Doc{TeamID: "team_1", MessageID: id, Text: "word", SentAt: at})
	}
	for i := 0; i < len(docs); i += 7 {
		if err := x.Put(ctx, docs[i:min(i+7, len(docs))]); err != nil {
			t.Fatal(err)
		}
	}
	terms, _ := search.ParseQuery("word")
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"all", time.Time{}, time.Time{}, 60},
		{"from", t0.Add(10 * time.Second), time.Time{}, 30},
		{"to", time.Time{}, t0.Add(10 * time.Second), 30},
		{"from and to", t0.Add(5 * time.Second), t0.Add(6 * time.Second), 3},
		{"before everything", time.Time{}, t0, 0},
	} {
		for _, sort := range []search.Sort{search.SortNewest, search.SortRelevance} {
			q := search.Query{TeamID: "team_1", Terms: terms, Sort: sort, Size: 4, From: c.from, To: c.to}
			seen := map[string]bool{}
			var last time.Time
			for page := 0; ; page++ {
				res, err := x.Search(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if res.Total != int64(c.want) {
					t.Errorf("%s: total %d, want %d", c.name, res.Total, c.want)
				}
				for _, h := range res.Hits {
					if seen[h.MessageID] {
						t.Errorf("%s, sort %d: %s twice", c.name, sort, h.MessageID)
					}
					seen[h.MessageID] = true
					if !last.IsZero() && h.SentAt.After(last) {
						t.Errorf("%s, sort %d: %s (%v) after an older hit", c.name, sort, h.MessageID, h.SentAt)
					}
					last = h.SentAt
					if !h.SentAt.Equal(sent[h.MessageID]) || !c.from.IsZero() && h.SentAt.Before(c.from) || !c.to.IsZero() && !h.SentAt.Before(c.to) {
						t.Errorf("%s: %s sent at %v", c.name, h.MessageID, h.SentAt)
					}
				}
				if len(res.Hits) < q.Size {
					break
				}
				h := res.Hits[len(res.Hits)-1]
				q.After = &search.After{Score: h.Score, SentAt: h.SentAt, MessageID: h.MessageID}
			}
			if len(seen) != c.want {
				t.Errorf("%s, sort %d: %d hits over the pages, want %d", c.name, sort, len(seen), c.want)
			}
		}
	}
	// An edit keeps the message's place; a change of sent_at moves it.
	d := docs[0]
	d.Text = "word edited"
	if err := x.Put(ctx, []search.Doc{d}); err != nil {
		t.Fatal(err)
	}
	res, err := x.Search(ctx, search.Query{TeamID: "team_1", Terms: terms, Sort: search.SortNewest, Size: 100})
	if err != nil || res.Total != 60 {
		t.Fatalf("after an edit: %d, %v", res.Total, err)
	}
	d.SentAt = t0.Add(time.Hour)
	if err := x.Put(ctx, []search.Doc{d}); err != nil {
		t.Fatal(err)
	}
	res, err = x.Search(ctx, search.Query{TeamID: "team_1", Terms: terms, Sort: search.SortNewest, Size: 1})
	if err != nil || res.Total != 60 || res.Hits[0].MessageID != d.MessageID {
		t.Fatalf("after moving %s: %+v, %v", d.MessageID, res, err)
	}
}

// TestCandidateCap: when more messages match than the cap, relevance ranks the newest
// Candidates of them; the total still counts every match.
func TestCandidateCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "search.db")
	x, err := Open(path, Options{Candidates: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	var docs []search.Doc
	for i := range 30 {
		text := "refund " + strings.Repeat("filler ", 10)
		if i == 0 {
			text = "refund" // the best match, and the oldest: beyond the cap
		}
		docs = append(docs, search.Doc{TeamID: "team_1", MessageID: fmt.Sprintf("m%02d", i), Text: text, SentAt: t0.Add(time.Duration(i) * time.Second)})
	}
	if err := x.Put(ctx, docs); err != nil {
		t.Fatal(err)
	}
	terms, _ := search.ParseQuery("refund")
	res, err := x.Search(ctx, search.Query{TeamID: "team_1", Terms: terms, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 30 || len(res.Hits) != 10 || res.Hits[0].MessageID != "m29" {
		t.Errorf("capped relevance: total %d, %d hits, first %s; want 30, 10, m29", res.Total, len(res.Hits), res.Hits[0].MessageID)
	}
}

// TestFilters: every filter and the team select through the tags column.
func TestFilters(t *testing.T) {
	x, _ := openTest(t)
	ctx := context.Background()
	docs := []search.Doc{
		{TeamID: "team_1", MessageID: "a", ThreadID: "thr_1", ProspectID: "prs_1", AccountLinkID: "acc_1", Platform: "api", Direction: "inbound", Text: "x", SentAt: t0},
		{TeamID: "team_1", MessageID: "b", ThreadID: "thr_2", ProspectID: "prs_2", AccountLinkID: "acc_2", Platform: "messenger", Direction: "outbound", Text: "x", SentAt: t0},
		{TeamID: "team_2", MessageID: "c", ThreadID: "thr_1", ProspectID: "prs_1", AccountLinkID: "acc_1", Platform: "api", Direction: "inbound", Text: "x", SentAt: t0},
	}
	if err := x.Put(ctx, docs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q    search.Query
		want string
	}{
		{search.Query{ThreadID: "thr_1"}, "a"}, {search.Query{ProspectID: "prs_2"}, "b"}, {search.Query{AccountLinkID: "acc_1"}, "a"},
		{search.Query{Platform: "messenger"}, "b"}, {search.Query{Direction: "inbound"}, "a"}, {search.Query{}, "a,b"},
		{search.Query{Platform: "api", Direction: "outbound"}, ""},
	} {
		c.q.TeamID, c.q.Size, c.q.Sort = "team_1", 10, search.SortNewest
		res, err := x.Search(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.MessageID)
		}
		slices.Sort(got)
		if strings.Join(got, ",") != c.want || res.Total != int64(len(got)) {
			t.Errorf("%+v: %v (total %d), want %s", c.q, got, res.Total, c.want)
		}
	}
}

// TestQueryPlans: every statement of a search walks the FTS5 index in key order with the time
// range and the page cursor as key bounds (FTS5 consumes them: no sort, no scan of keys outside
// the range), and reads docs by key.
func TestQueryPlans(t *testing.T) {
	x, _ := openTest(t)
	put(t, x, "hello")
	terms, _ := search.ParseQuery("hello")
	p := planOf(search.Query{TeamID: "team_1", Terms: terms, From: t0, To: t0.Add(time.Hour)}, "0")
	w, args := p.where(p.hi - 5)
	for _, c := range []struct {
		name, sql string
		args      []any
		want      []string
	}{
		{"count", countSQL(w), args, []string{"SCAN fts VIRTUAL TABLE INDEX 0:M4><"}},
		{"page", pageSQL(w), append(args, 21), []string{"SCAN fts VIRTUAL TABLE INDEX 192:M4><"}},
		{"rank", rankSQL(w), append(args, 2000), []string{"SCAN fts VIRTUAL TABLE INDEX 192:M4><", "SEARCH d USING INTEGER PRIMARY KEY (rowid=?)"}},
	} {
		rows, err := x.r.Query("EXPLAIN QUERY PLAN "+c.sql, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			got = append(got, detail)
		}
		rows.Close()
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: plan %q, want %q", c.name, got, c.want)
		}
	}
}

// Every team's words are its own: many teams (codes of one and two base-36 digits) with the
// same words, each finding only its message by word, phrase, prefix and exclusion, before and
// after a reopen (codes are kept, a new team gets a new one) and after another team's delete.
func TestTeamsHaveTheirOwnTerms(t *testing.T) {
	x, path := openTest(t)
	ctx := context.Background()
	team := func(i int) string { return fmt.Sprintf("team_%d", i) }
	putTeam := func(x *Index, i int) {
		t.Helper()
		d := search.Doc{TeamID: team(i), MessageID: "m1", ThreadID: "thr_1", Text: fmt.Sprintf("refund the tracking number w%d", i),
			ProspectName: "Shipping Desk", SentAt: t0.Add(time.Duration(i) * time.Second)}
		if err := x.Put(ctx, []search.Doc{d}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(x *Index, teams int, gone map[int]bool) {
		t.Helper()
		for i := range teams {
			for _, q := range []string{"refund", `"tracking number"`, "ship*", "refund -cancel", fmt.Sprintf("w%d", i)} {
				terms, err := search.ParseQuery(q)
				if err != nil {
					t.Fatal(err)
				}
				for _, sort := range []search.Sort{search.SortNewest, search.SortRelevance} {
					res, err := x.Search(ctx, search.Query{TeamID: team(i), Terms: terms, Sort: sort, Size: 10})
					want := int64(1)
					if gone[i] {
						want = 0
					}
					if err != nil || res.Total != want || len(res.Hits) != int(want) {
						t.Fatalf("team %d, %s: %+v, %v; want %d hit", i, q, res, err, want)
					}
				}
			}
			// A filter alone (every team has a thread thr_1): the team's message only.
			for _, sort := range []search.Sort{search.SortNewest, search.SortRelevance} {
				res, err := x.Search(ctx, search.Query{TeamID: team(i), ThreadID: "thr_1", Sort: sort, Size: 10})
				want := int64(1)
				if gone[i] {
					want = 0
				}
				if err != nil || res.Total != want {
					t.Fatalf("team %d, thread filter alone: %+v, %v; want %d hit", i, res, err, want)
				}
			}
			// Another team's word: nothing.
			terms, _ := search.ParseQuery(fmt.Sprintf("w%d", i+1))
			if res, err := x.Search(ctx, search.Query{TeamID: team(i), Terms: terms, Size: 10}); err != nil || res.Total != 0 {
				t.Fatalf("team %d finds team %d's word: %+v, %v", i, i+1, res, err)
			}
		}
	}
	for i := range 40 {
		putTeam(x, i)
	}
	check(x, 40, nil)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	putTeam(x, 40)
	check(x, 41, nil)
	if err := x.Delete(ctx, team(12), []string{"m1"}); err != nil {
		t.Fatal(err)
	}
	check(x, 41, map[int]bool{12: true})
	if res, err := x.Search(ctx, search.Query{TeamID: "team_unknown", Size: 10}); err != nil || res.Total != 0 || res.Hits == nil {
		t.Fatalf("a team without documents: %+v, %v; want an empty page", res, err)
	}
}

// Random writes keep fts true to the documents: batches of new messages out of key order,
// edits (same or another time, the same microsecond as others), a message twice in a batch,
// deletes; after each, every word finds exactly the messages that hold it, for each team, and
// FTS5's own integrity check passes.
func TestRandomWritesKeepTheIndexSound(t *testing.T) {
	x, _ := openTest(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	words := []string{"refund", "parcel", "late", "thanks", "invoice"}
	type key struct{ team, id string }
	model := map[key]search.Doc{}
	randomDoc := func(team string, id string) search.Doc {
		var text []string
		for range 1 + rng.IntN(4) {
			text = append(text, words[rng.IntN(len(words))])
		}
		// Few distinct microseconds: messages share them, and edits move between them.
		at := t0.Add(time.Duration(rng.IntN(40)) * time.Microsecond)
		return search.Doc{TeamID: team, MessageID: id, ThreadID: "thr_1", Text: strings.Join(text, " "), SentAt: at}
	}
	teams := []string{"team_a", "team_b", "team_c"}
	for step := range 300 {
		team := teams[rng.IntN(len(teams))]
		if rng.IntN(6) == 0 {
			var ids []string
			for range 1 + rng.IntN(4) {
				ids = append(ids, fmt.Sprint("m", rng.IntN(60)))
			}
			if err := x.Delete(ctx, team, ids); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				delete(model, key{team, id})
			}
		} else {
			var batch []search.Doc
			for range 1 + rng.IntN(12) {
				d := randomDoc(team, fmt.Sprint("m", rng.IntN(60)))
				batch = append(batch, d)
				model[key{team, d.MessageID}] = d
			}
			if err := x.Put(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := x.w.Exec(`INSERT INTO fts (fts) VALUES ('integrity-check')`); err != nil {
			t.Fatalf("step %d: FTS5 integrity check: %v", step, err)
		}
		for _, tm := range teams {
			for _, w := range words {
				var want []string
				for k, d := range model {
					if k.team == tm && slices.Contains(strings.Fields(d.Text), w) {
						want = append(want, d.MessageID)
					}
				}
				terms, _ := search.ParseQuery(w)
				res, err := x.Search(ctx, search.Query{TeamID: tm, Terms: terms, Size: 100})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, h := range res.Hits {
					got = append(got, h.MessageID)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) || res.Total != int64(len(want)) {
					t.Fatalf("step %d, %s searching %q: %v (total %d), want %v", step, tm, w, got, res.Total, want)
				}
			}
		}
	}
}
