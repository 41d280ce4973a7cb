package bleve

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	blevesearch "github.com/blevesearch/bleve/v2"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/search"
)

// The search behaviour suite runs through the real server (server/search_component_test.go);
// these tests pin what is Bleve's own: the analyzers, stable scores, the stored checkpoint and
// the mapping version.

func openTest(t *testing.T) (*Index, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "search.bleve")
	x, err := Open(path)
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

func TestCheckpointAndMappingVersion(t *testing.T) {
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
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := x.Checkpoint(ctx); err != nil || cp[0] != 42 {
		t.Fatalf("reopened checkpoint: %v, %v", cp, err)
	}
	if got := find(t, x, "kept"); len(got) != 1 {
		t.Fatalf("reopened index finds %v", got)
	}
	// An index of another mapping is dropped: its checkpoint too, so it is rebuilt from the log.
	if err := x.idx.SetInternal(keyMapping, []byte("switchboard-search-0")); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x, err = Open(path)
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

// panicky is a Bleve index whose batches panic, as zapx did on a full disk.
type panicky struct{ bleveIndex }

type bleveIndex = blevesearch.Index // a field name other than Index, one of its methods

func (panicky) Batch(*blevesearch.Batch) error {
	panic("assignment to entry in nil map") // what zapx's invertedIndexCache did on a full disk
}

// TestPanicInBleveIsContained: a panic inside Bleve fails the call that met it as unavailable,
// and the next call reopens the index and works, with what was indexed before.
func TestPanicInBleveIsContained(t *testing.T) {
	x, _ := openTest(t)
	ctx := context.Background()
	put(t, x, "before the fault")
	x.mu.Lock()
	x.idx = panicky{x.idx}
	x.mu.Unlock()
	err := x.Put(ctx, []search.Doc{{TeamID: "team_1", MessageID: "m99", Text: "during"}})
	if domain.KindOf(err) != domain.KindUnavailable {
		t.Fatalf("put during a panic: %v, want unavailable", err)
	}
	if err := x.Ping(ctx); err == nil {
		t.Fatal("ping right after the fault: ok, want the fault")
	}
	x.mu.Lock()
	x.lastOpen = time.Time{} // skip the pause between reopen attempts
	x.mu.Unlock()
	put(t, x, "after the fault")
	if got := find(t, x, "fault"); !slices.Equal(got, []string{"m00"}) {
		t.Fatalf("after reopening: %v", got)
	}
	if x.Rebuilds() != 0 {
		t.Fatal("a contained panic rebuilt the index")
	}
}

// TestDamagedIndexIsRebuilt: an index whose files were overwritten is dropped at Open and
// recreated empty, without checkpoint, so the projector rebuilds it from the log.
func TestDamagedIndexIsRebuilt(t *testing.T) {
	for _, file := range []string{"index_meta.json", "root.bolt", ".zap"} {
		t.Run(file, func(t *testing.T) {
			x, path := openTest(t)
			ctx := context.Background()
			put(t, x, "kept until damaged")
			if err := x.SetCheckpoint(ctx, eventlog.Cursor{0: 7}); err != nil {
				t.Fatal(err)
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			damaged := 0
			_ = filepath.Walk(path, func(p string, info os.FileInfo, err error) error {
				if err != nil || info.IsDir() || !strings.HasSuffix(p, file) {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				for i := len(b) / 4; i < len(b)*3/4; i++ {
					b[i] ^= 0x5a
				}
				damaged++
				return os.WriteFile(p, b, 0o600)
			})
			if damaged == 0 {
				t.Fatalf("no %s in the index", file)
			}
			y, err := Open(path)
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
		})
	}
}
