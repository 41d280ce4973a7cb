package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/search"
)

const (
	alias        = "switchboard-messages"
	firstIndex   = "switchboard-messages-20260102t030405.123z" // fixedClock's index name
	oldIndex     = "switchboard-messages-20250101t000000.000z"
	checkpoints  = "switchboard-messages-checkpoints"
	testPassword = "s3cr3t-Pa55word"
	testAPIKey   = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
)

func fixedClock(s string) func() time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return t }
}

// The mapping, written out in full so that any change to it is a deliberate one.
const wantMapping = `{
  "settings": {
    "analysis": {
      "filter": {
        "switchboard_folding": {"type": "asciifolding", "preserve_original": false},
        "switchboard_cjk_bigram": {"type": "cjk_bigram", "output_unigrams": true}
      },
      "analyzer": {
        "switchboard_text": {
          "type": "custom",
          "tokenizer": "standard",
          "filter": ["cjk_width", "lowercase", "switchboard_folding", "decimal_digit", "arabic_normalization", "switchboard_cjk_bigram"]
        }
      }
    }
  },
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "team_id": {"type": "keyword"},
      "message_id": {"type": "keyword"},
      "thread_id": {"type": "keyword"},
      "prospect_id": {"type": "keyword"},
      "account_link_id": {"type": "keyword"},
      "platform": {"type": "keyword"},
      "direction": {"type": "keyword"},
      "attachment_types": {"type": "keyword"},
      "sent_at": {"type": "date"},
      "text": {"type": "text", "analyzer": "switchboard_text", "index_options": "offsets"},
      "attachment_names": {"type": "text", "analyzer": "switchboard_text"},
      "prospect_name": {"type": "text", "analyzer": "switchboard_text"},
      "prospect_username": {"type": "text", "analyzer": "switchboard_text"}
    }
  }%s
}`

const wantCheckpointMapping = `{
  "settings": {"number_of_shards": 1},
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "cursor": {"type": "keyword", "index": false},
      "updated_at": {"type": "date"}
    }
  }
}`

func open(t *testing.T, f *fakeES, mutate ...func(*Config)) *Index {
	t.Helper()
	cfg := f.config()
	for _, m := range mutate {
		m(&cfg)
	}
	idx, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	return idx
}

func requestsTo(f *fakeES, line string) []recorded {
	var out []recorded
	for _, r := range f.requests() {
		if r.String() == line {
			out = append(out, r)
		}
	}
	return out
}

func TestOpenCreatesIndexWithMappingAndAlias(t *testing.T) {
	f := newFakeES(t)
	open(t, f, func(c *Config) { c.APIKey = testAPIKey })

	assertLines(t, f.lines(),
		"GET /_alias/"+alias,
		"PUT /"+firstIndex,
		"GET /_alias/"+alias,
		"HEAD /"+checkpoints,
		"PUT /"+checkpoints,
	)
	reqs := f.requests()
	assertJSON(t, "create index body", reqs[1].Body, fmt.Sprintf(wantMapping, `, "aliases": {"switchboard-messages": {}}`))
	assertJSON(t, "create checkpoint index body", reqs[4].Body, wantCheckpointMapping)
	for _, r := range reqs {
		// The Go client spells the scheme "APIKey"; Elasticsearch ignores its case.
		if got := r.Header.Get("Authorization"); got != "APIKey "+testAPIKey {
			t.Errorf("%s: Authorization %q, want the API key", r, got)
		}
	}
	if got := f.aliasTargets(alias); len(got) != 1 || got[0] != firstIndex {
		t.Errorf("alias points to %v, want [%s]", got, firstIndex)
	}
}

func TestOpenKeepsAnExistingAlias(t *testing.T) {
	f := newFakeES(t)
	f.addIndex(oldIndex, alias)
	f.addIndex(checkpoints, "")
	open(t, f)
	assertLines(t, f.lines(),
		"GET /_alias/"+alias,
		"HEAD /"+checkpoints,
	)
}

// Two processes opening an empty cluster at once each create an index behind the alias; the
// one whose index is newer drops its own, so the alias ends on exactly one index.
func TestOpenSettlesARaceOnTheFirstIndex(t *testing.T) {
	f := newFakeES(t)
	const rival = "switchboard-messages-20260102t030405.000z"
	f.hook = func(r recorded, n int) (int, string, bool) {
		if r.Method == "PUT" && r.Path == "/"+firstIndex {
			f.addIndex(rival, alias) // the other process got there first
		}
		return 0, "", false
	}
	open(t, f)
	assertLines(t, f.lines(),
		"GET /_alias/"+alias,
		"PUT /"+firstIndex,
		"GET /_alias/"+alias,
		"DELETE /"+firstIndex,
		"HEAD /"+checkpoints,
		"PUT /"+checkpoints,
	)
	if got := f.aliasTargets(alias); len(got) != 1 || got[0] != rival {
		t.Errorf("alias points to %v, want [%s]", got, rival)
	}
}

var (
	sentAt1 = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	sentAt2 = time.Date(2026, 1, 3, 10, 0, 0, 0, time.FixedZone("CET", 3600))
)

func testDocs() []search.Doc {
	return []search.Doc{
		{
			TeamID: "team_a", MessageID: "msg_1", ThreadID: "thr_1", ProspectID: "prs_1",
			AccountLinkID: "acc_1", Platform: "messenger", Direction: "inbound",
			Text:            "Où est le café? 東京都に行きます 👍",
			AttachmentNames: []string{"menu.pdf"}, AttachmentTypes: []string{"file"},
			ProspectName: "Zoë Ångström", ProspectUsername: "zoe.a", SentAt: sentAt1,
		},
		{
			TeamID: "team_a", MessageID: "msg_2", ThreadID: "thr_2", ProspectID: "prs_2",
			AccountLinkID: "acc_1", Platform: "telegram", Direction: "outbound",
			Text: "Привет, مرحبا", ProspectName: "Иван", ProspectUsername: "ivan", SentAt: sentAt2,
		},
	}
}

const (
	wantSource1 = `{"team_id":"team_a","message_id":"msg_1","thread_id":"thr_1","prospect_id":"prs_1","account_link_id":"acc_1","platform":"messenger","direction":"inbound","text":"Où est le café? 東京都に行きます 👍","attachment_names":["menu.pdf"],"attachment_types":["file"],"prospect_name":"Zoë Ångström","prospect_username":"zoe.a","sent_at":"2026-01-02T03:04:05.123456789Z"}`
	wantSource2 = `{"team_id":"team_a","message_id":"msg_2","thread_id":"thr_2","prospect_id":"prs_2","account_link_id":"acc_1","platform":"telegram","direction":"outbound","text":"Привет, مرحبا","prospect_name":"Иван","prospect_username":"ivan","sent_at":"2026-01-03T09:00:00Z"}`
)

func TestPutSendsBulkNDJSON(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.reset()

	if err := idx.Put(context.Background(), testDocs()); err != nil {
		t.Fatalf("Put: %v", err)
	}
	assertLines(t, f.lines(), "POST /"+alias+"/_bulk?refresh=wait_for&require_alias=true")
	assertBulk(t, f.requests()[0].Body,
		`{"index":{"_id":"team_a:msg_1"}}`, wantSource1,
		`{"index":{"_id":"team_a:msg_2"}}`, wantSource2,
	)
	if _, ok := f.doc(firstIndex, "team_a:msg_1"); !ok {
		t.Error("document msg_1 not stored")
	}
}

func TestPutRetriesA429ItemAndReportsA400Item(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.reset()
	f.hook = func(r recorded, n int) (int, string, bool) {
		if !strings.HasSuffix(r.Path, "/_bulk") || n != 1 {
			return 0, "", false
		}
		acts := parseBulk(t, r.Body)
		return 200, bulkResponse([]map[string]any{
			bulkItemError(firstIndex, acts[0], 429, "es_rejected_execution_exception", rejectedReason),
			bulkItemError(firstIndex, acts[1], 400, "document_parsing_exception",
				"[1:145] failed to parse field [sent_at] of type [date] in document with id 'team_a:msg_2'. Preview of field's value: 'yesterday'"),
		}), true
	}

	err := idx.Put(context.Background(), testDocs())

	bulks := requestsTo(f, "POST /"+alias+"/_bulk?refresh=wait_for&require_alias=true")
	if len(bulks) != 2 {
		t.Fatalf("%d bulk requests, want 2 (the first, then the 429 item again):\n%s", len(bulks), strings.Join(f.lines(), "\n"))
	}
	assertBulk(t, bulks[1].Body, `{"index":{"_id":"team_a:msg_1"}}`, wantSource1)
	if _, ok := f.doc(firstIndex, "team_a:msg_1"); !ok {
		t.Error("the 429 document was not written on retry")
	}

	var be *BulkError
	if !errors.As(err, &be) {
		t.Fatalf("Put error = %v, want a *BulkError", err)
	}
	if be.Total != 2 || len(be.Failed) != 1 || be.Failed[0].MessageID != "msg_2" || be.Failed[0].Status != 400 ||
		be.Failed[0].Type != "document_parsing_exception" {
		t.Errorf("BulkError = %+v, want msg_2 refused with 400 document_parsing_exception", be)
	}
	if be.Temporary() || domain.KindOf(err) == domain.KindUnavailable {
		t.Errorf("a 400 is permanent, got kind %v", domain.KindOf(err))
	}
	for _, want := range []string{"1 of 2 documents failed to index", "msg_2", "document_parsing_exception"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestPutRetriesAWholeRequest429(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.reset()
	f.hook = func(r recorded, n int) (int, string, bool) {
		if strings.HasSuffix(r.Path, "/_bulk") && n == 1 {
			return 429, errorBody("es_rejected_execution_exception", rejectedReason, 429), true
		}
		return 0, "", false
	}
	if err := idx.Put(context.Background(), testDocs()); err != nil {
		t.Fatalf("Put: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests: %v, want the bulk twice", f.lines())
	}
	if !bytes.Equal(reqs[0].Body, reqs[1].Body) {
		t.Errorf("the retried bulk body differs:\n%s\n%s", reqs[0].Body, reqs[1].Body)
	}
	if _, ok := f.doc(firstIndex, "team_a:msg_2"); !ok {
		t.Error("documents not written after the retry")
	}
}

func TestPutGivesUpOnEndless429AsUnavailable(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f, func(c *Config) { c.ItemRetries = 2 })
	f.reset()
	f.hook = func(r recorded, n int) (int, string, bool) {
		if !strings.HasSuffix(r.Path, "/_bulk") {
			return 0, "", false
		}
		var items []map[string]any
		for _, a := range parseBulk(t, r.Body) {
			items = append(items, bulkItemError(firstIndex, a, 429, "es_rejected_execution_exception", rejectedReason))
		}
		return 200, bulkResponse(items), true
	}
	err := idx.Put(context.Background(), testDocs())
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d bulk requests, want 3 (1 + ItemRetries)", n)
	}
	if domain.KindOf(err) != domain.KindUnavailable {
		t.Errorf("error kind %v, want Unavailable: %v", domain.KindOf(err), err)
	}
	var be *BulkError
	if !errors.As(err, &be) || len(be.Failed) != 2 || !be.Temporary() || be.Failed[0].Status != 429 {
		t.Errorf("BulkError = %+v, want both documents refused with 429", be)
	}
}

func TestPutReportsAWholeRequest400WithoutRetrying(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.reset()
	f.hook = func(r recorded, n int) (int, string, bool) {
		if strings.HasSuffix(r.Path, "/_bulk") {
			return 400, errorBody("illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]", 400), true
		}
		return 0, "", false
	}
	err := idx.Put(context.Background(), testDocs())
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d bulk requests, want 1: a 400 is not retried", n)
	}
	var be *BulkError
	if !errors.As(err, &be) || len(be.Failed) != 2 || be.Temporary() || be.Failed[0].Status != 400 {
		t.Errorf("error = %v, want both documents reported with status 400", err)
	}
}

func TestDeleteSendsBulkDeletesAndToleratesMissing(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	if err := idx.Put(context.Background(), testDocs()); err != nil {
		t.Fatal(err)
	}
	f.reset()
	if err := idx.Delete(context.Background(), "team_a", []string{"msg_1", "msg_gone"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertLines(t, f.lines(), "POST /"+alias+"/_bulk?refresh=wait_for&require_alias=true")
	assertBulk(t, f.requests()[0].Body,
		`{"delete":{"_id":"team_a:msg_1"}}`,
		`{"delete":{"_id":"team_a:msg_gone"}}`,
	)
	if _, ok := f.doc(firstIndex, "team_a:msg_1"); ok {
		t.Error("msg_1 still stored")
	}
}

func TestGet(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	ctx := context.Background()
	if err := idx.Put(ctx, testDocs()); err != nil {
		t.Fatal(err)
	}
	f.reset()

	got, found, err := idx.Get(ctx, "team_a", "msg_1")
	if err != nil || !found {
		t.Fatalf("Get msg_1 = %v, %v", found, err)
	}
	want := testDocs()[0]
	if !got.SentAt.Equal(want.SentAt) {
		t.Errorf("SentAt %v, want %v", got.SentAt, want.SentAt)
	}
	got.SentAt = want.SentAt
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Get = %+v\nwant %+v", got, want)
	}
	assertLines(t, f.lines(), "GET /"+alias+"/_doc/team_a:msg_1")

	if _, found, err := idx.Get(ctx, "team_a", "msg_missing"); err != nil || found {
		t.Errorf("Get of a missing document = %v, %v; want not found, no error", found, err)
	}
	if _, found, err := idx.Get(ctx, "team_b", "msg_1"); err != nil || found {
		t.Errorf("another team's Get = %v, %v; want not found", found, err)
	}
}

func TestGetWithoutTheAliasIsAnError(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.mu.Lock()
	f.aliases = map[string][]string{}
	f.mu.Unlock()
	if _, _, err := idx.Get(context.Background(), "team_a", "msg_1"); err == nil {
		t.Error("Get through a missing alias must fail, not report a missing document")
	}
}

func TestSearchSendsQueryDSL(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 2, 1, 12, 30, 0, 500_000_000, time.FixedZone("X", 2*3600))
	const (
		teamOnly  = `{"term":{"team_id":"team_a"}}`
		fields    = `["text","attachment_names","prospect_name","prospect_username"]`
		relevance = `[{"_score":{"order":"desc"}},{"sent_at":{"order":"desc"}},{"message_id":{"order":"desc"}}]`
		newest    = `[{"sent_at":{"order":"desc"}},{"message_id":{"order":"desc"}}]`
		highlight = `{"pre_tags":["<mark>"],"post_tags":["</mark>"],"encoder":"html","fields":{"text":{"number_of_fragments":3,"fragment_size":150}}}`
		source    = `["message_id","thread_id","sent_at"]`
	)
	word := func(text, zero string) string {
		return `{"multi_match":{"query":"` + text + `","type":"best_fields","fields":` + fields + `,"operator":"and","zero_terms_query":"` + zero + `"}}`
	}
	cases := []struct {
		name string
		q    search.Query
		want string
	}{{
		name: "words all must match",
		q:    search.Query{TeamID: "team_a", Terms: search.Terms{Must: []search.Clause{{Kind: search.Word, Text: "Café"}, {Kind: search.Word, Text: "東京"}}}},
		want: `{"size":20,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `],"must":[` + word("Café", "all") + `,` + word("東京", "all") + `]}},
			"sort":` + relevance + `,"highlight":` + highlight + `}`,
	}, {
		name: "phrase",
		q:    search.Query{TeamID: "team_a", Terms: search.Terms{Must: []search.Clause{{Kind: search.Phrase, Text: "see you soon"}}}},
		want: `{"size":20,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `],"must":[{"match_phrase":{"text":{"query":"see you soon","zero_terms_query":"all"}}}]}},
			"sort":` + relevance + `,"highlight":` + highlight + `}`,
	}, {
		name: "prefix",
		q:    search.Query{TeamID: "team_a", Terms: search.Terms{Must: []search.Clause{{Kind: search.Prefix, Text: "Caf"}}}},
		want: `{"size":20,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `],"must":[{"multi_match":{"query":"Caf","type":"bool_prefix","fields":` + fields + `,"operator":"and","zero_terms_query":"all"}}]}},
			"sort":` + relevance + `,"highlight":` + highlight + `}`,
	}, {
		name: "exclusions",
		q: search.Query{TeamID: "team_a", Terms: search.Terms{
			Must:    []search.Clause{{Kind: search.Word, Text: "invoice"}},
			MustNot: []search.Clause{{Kind: search.Word, Text: "paid"}, {Kind: search.Phrase, Text: "thank you"}},
		}},
		want: `{"size":20,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `],"must":[` + word("invoice", "all") + `],
				"must_not":[` + word("paid", "none") + `,{"match_phrase":{"text":{"query":"thank you","zero_terms_query":"none"}}}]}},
			"sort":` + relevance + `,"highlight":` + highlight + `}`,
	}, {
		name: "only an exclusion: no highlight",
		q:    search.Query{TeamID: "team_a", Terms: search.Terms{MustNot: []search.Clause{{Kind: search.Prefix, Text: "spam"}}}},
		want: `{"size":20,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `],"must_not":[{"multi_match":{"query":"spam","type":"bool_prefix","fields":` + fields + `,"operator":"and","zero_terms_query":"none"}}]}},
			"sort":` + relevance + `}`,
	}, {
		name: "every filter, newest first, a page size",
		q: search.Query{
			TeamID: "team_a", Platform: "instagram", AccountLinkID: "acc_1", ThreadID: "thr_1",
			ProspectID: "prs_1", Direction: "inbound", From: from, To: to, Sort: search.SortNewest, Size: 50,
		},
		want: `{"size":50,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `,
				{"term":{"platform":"instagram"}},{"term":{"account_link_id":"acc_1"}},{"term":{"thread_id":"thr_1"}},
				{"term":{"prospect_id":"prs_1"}},{"term":{"direction":"inbound"}},
				{"range":{"sent_at":{"gte":"2026-01-01T00:00:00.000Z","lt":"2026-02-01T10:30:00.500Z","format":"strict_date_optional_time"}}}]}},
			"sort":` + newest + `}`,
	}, {
		name: "only a lower time bound",
		q:    search.Query{TeamID: "team_a", From: from, Sort: search.SortNewest},
		want: `{"size":20,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `,{"range":{"sent_at":{"gte":"2026-01-01T00:00:00.000Z","format":"strict_date_optional_time"}}}]}},
			"sort":` + newest + `}`,
	}, {
		name: "relevance page after a hit",
		q: search.Query{TeamID: "team_a", Terms: search.Terms{Must: []search.Clause{{Kind: search.Word, Text: "hi"}}}, Size: 10,
			After: &search.After{Score: 1.3862942, SentAt: sentAt1, MessageID: "msg_9"}},
		want: `{"size":10,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `],"must":[` + word("hi", "all") + `]}},
			"sort":` + relevance + `,"search_after":[1.3862942,1767323045123,"msg_9"],"highlight":` + highlight + `}`,
	}, {
		name: "newest page after a hit",
		q: search.Query{TeamID: "team_a", Sort: search.SortNewest,
			After: &search.After{SentAt: sentAt1, MessageID: "msg_9"}},
		want: `{"size":20,"track_total_hits":true,"_source":` + source + `,
			"query":{"bool":{"filter":[` + teamOnly + `]}},
			"sort":` + newest + `,"search_after":[1767323045123,"msg_9"]}`,
	}}

	f := newFakeES(t)
	idx := open(t, f)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.reset()
			if _, err := idx.Search(context.Background(), tc.q); err != nil {
				t.Fatalf("Search: %v", err)
			}
			assertLines(t, f.lines(), "POST /"+alias+"/_search?allow_partial_search_results=false")
			assertJSON(t, "search body", f.requests()[0].Body, tc.want)
		})
	}
}

func TestSearchNeedsATeam(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.reset()
	if _, err := idx.Search(context.Background(), search.Query{}); err == nil {
		t.Error("a search without a team must fail")
	}
	if len(f.requests()) != 0 {
		t.Error("a search without a team must not reach Elasticsearch")
	}
}

func TestSearchParsesHits(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.hook = func(r recorded, n int) (int, string, bool) {
		if !strings.HasSuffix(r.Path, "/_search") {
			return 0, "", false
		}
		return 200, searchBodyOf(57, []any{
			map[string]any{
				"_index": firstIndex, "_id": "team_a:msg_1", "_score": 2.5618362,
				"_source":   map[string]any{"message_id": "msg_1", "thread_id": "thr_1", "sent_at": "2026-01-02T03:04:05.123456789Z"},
				"highlight": map[string]any{"text": []any{"Où est le <mark>café</mark>? 東京都に行きます", "un autre <mark>cafe</mark>"}},
				"sort":      []any{2.5618362, 1767323045123, "msg_1"},
			},
			map[string]any{
				"_index": firstIndex, "_id": "team_a:msg_2", "_score": 0.2876821,
				"_source": map[string]any{"message_id": "msg_2", "thread_id": "thr_2", "sent_at": "2026-01-03T09:00:00Z"},
				"sort":    []any{0.2876821, 1767430800000, "msg_2"},
			},
		}), true
	}
	res, err := idx.Search(context.Background(), search.Query{TeamID: "team_a", Terms: search.Terms{Must: []search.Clause{{Kind: search.Word, Text: "cafe"}}}})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if res.Total != 57 || len(res.Hits) != 2 {
		t.Fatalf("Result = %+v, want total 57 and 2 hits", res)
	}
	h := res.Hits[0]
	if h.MessageID != "msg_1" || h.ThreadID != "thr_1" || h.Score != 2.5618362 || !h.SentAt.Equal(sentAt1) {
		t.Errorf("hit 1 = %+v", h)
	}
	if len(h.Highlights) != 2 || h.Highlights[0] != "Où est le <mark>café</mark>? 東京都に行きます" {
		t.Errorf("highlights = %q", h.Highlights)
	}
	if h := res.Hits[1]; h.MessageID != "msg_2" || h.ThreadID != "thr_2" || !h.SentAt.Equal(sentAt2) || h.Highlights != nil {
		t.Errorf("hit 2 = %+v", h)
	}

	// The last hit's sort values resume the next page exactly.
	f.reset()
	last := res.Hits[1]
	_, err = idx.Search(context.Background(), search.Query{TeamID: "team_a", Terms: search.Terms{Must: []search.Clause{{Kind: search.Word, Text: "cafe"}}},
		After: &search.After{Score: last.Score, SentAt: last.SentAt, MessageID: last.MessageID}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		SearchAfter []json.RawMessage `json:"search_after"`
	}
	_ = json.Unmarshal(f.requests()[0].Body, &body)
	if got := fmt.Sprintf("%s", body.SearchAfter); got != `[0.2876821 1767430800000 "msg_2"]` {
		t.Errorf("search_after = %s, want the hit's sort values", got)
	}
}

func TestSearchNewestHasNoScore(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.hook = func(r recorded, n int) (int, string, bool) {
		if !strings.HasSuffix(r.Path, "/_search") {
			return 0, "", false
		}
		return 200, searchBodyOf(1, []any{map[string]any{
			"_index": firstIndex, "_id": "team_a:msg_2", "_score": nil,
			"_source": map[string]any{"message_id": "msg_2", "thread_id": "thr_2", "sent_at": "2026-01-03T09:00:00Z"},
			"sort":    []any{1767430800000, "msg_2"},
		}}), true
	}
	res, err := idx.Search(context.Background(), search.Query{TeamID: "team_a", Sort: search.SortNewest})
	if err != nil || len(res.Hits) != 1 || res.Hits[0].Score != 0 || res.Total != 1 {
		t.Fatalf("Search = %+v, %v", res, err)
	}
}

func TestSearchRefusesPartialResults(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.hook = func(r recorded, n int) (int, string, bool) {
		if !strings.HasSuffix(r.Path, "/_search") {
			return 0, "", false
		}
		return 503, errorBody("search_phase_execution_exception", "all shards failed", 503), true
	}
	_, err := idx.Search(context.Background(), search.Query{TeamID: "team_a"})
	if domain.KindOf(err) != domain.KindUnavailable {
		t.Errorf("error kind %v, want Unavailable: %v", domain.KindOf(err), err)
	}
	var re *ResponseError
	if !errors.As(err, &re) || re.Status != 503 || re.Type != "search_phase_execution_exception" {
		t.Errorf("error %v should carry the Elasticsearch error", err)
	}
}

func TestReindexFillsANewIndexThenSwitchesTheAliasAtomically(t *testing.T) {
	f := newFakeES(t)
	f.addIndex(oldIndex, alias)
	f.addIndex(checkpoints, "")
	idx := open(t, f)
	ctx := context.Background()
	if err := idx.Put(ctx, testDocs()[:1]); err != nil {
		t.Fatal(err)
	}
	if err := idx.SetCheckpoint(ctx, eventlog.Cursor{0: 41}); err != nil {
		t.Fatal(err)
	}
	f.reset()

	err := idx.Reindex(ctx, func(ctx context.Context, target search.Index) error {
		c, err := target.Checkpoint(ctx)
		if err != nil || len(c) != 0 {
			return fmt.Errorf("a new index must start at the beginning of the log, got %v, %v", c, err)
		}
		if err := target.Put(ctx, testDocs()); err != nil {
			return err
		}
		// Searches through the alias still answer from the old index.
		if got := f.aliasTargets(alias); len(got) != 1 || got[0] != oldIndex {
			return fmt.Errorf("alias moved during the fill: %v", got)
		}
		if _, found, err := idx.Get(ctx, "team_a", "msg_2"); err != nil || found {
			return fmt.Errorf("the old index sees the new documents: %v %v", found, err)
		}
		return target.SetCheckpoint(ctx, eventlog.Cursor{0: 99})
	})
	if err != nil {
		t.Fatalf("Reindex: %v", err)
	}

	assertLines(t, f.lines(),
		"GET /_alias/"+alias,
		"PUT /"+firstIndex,
		"GET /"+checkpoints+"/_doc/"+firstIndex,
		"POST /"+firstIndex+"/_bulk",
		"GET /"+alias+"/_doc/team_a:msg_2",
		"PUT /"+checkpoints+"/_doc/"+firstIndex,
		"POST /"+firstIndex+"/_refresh",
		"POST /_aliases",
		"DELETE /"+oldIndex,
		"DELETE /"+checkpoints+"/_doc/"+oldIndex,
	)
	reqs := f.requests()
	assertJSON(t, "new index body", reqs[1].Body, fmt.Sprintf(wantMapping, ""))
	assertBulk(t, reqs[3].Body,
		`{"index":{"_id":"team_a:msg_1"}}`, wantSource1,
		`{"index":{"_id":"team_a:msg_2"}}`, wantSource2,
	)
	assertJSON(t, "_aliases body", reqs[7].Body, `{"actions":[
		{"remove":{"index":"`+oldIndex+`","alias":"`+alias+`","must_exist":true}},
		{"add":{"index":"`+firstIndex+`","alias":"`+alias+`"}}]}`)

	if got := f.aliasTargets(alias); len(got) != 1 || got[0] != firstIndex {
		t.Errorf("alias points to %v, want [%s]", got, firstIndex)
	}
	if f.hasIndex(oldIndex) {
		t.Error("the old index was not deleted")
	}
	// Through the alias, the index now reads the new index's documents and checkpoint.
	if _, found, err := idx.Get(ctx, "team_a", "msg_2"); err != nil || !found {
		t.Errorf("Get after the switch = %v, %v", found, err)
	}
	if c, err := idx.Checkpoint(ctx); err != nil || c.String() != "0-99" {
		t.Errorf("Checkpoint after the switch = %v, %v; want the new index's 0-99", c, err)
	}
}

func TestReindexFailureLeavesTheAliasAlone(t *testing.T) {
	f := newFakeES(t)
	f.addIndex(oldIndex, alias)
	f.addIndex(checkpoints, "")
	idx := open(t, f)
	f.reset()
	boom := errors.New("event log unreachable")
	err := idx.Reindex(context.Background(), func(ctx context.Context, target search.Index) error {
		if err := target.Put(ctx, testDocs()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Reindex error = %v, want the fill's", err)
	}
	assertLines(t, f.lines(),
		"GET /_alias/"+alias,
		"PUT /"+firstIndex,
		"POST /"+firstIndex+"/_bulk",
		"DELETE /"+firstIndex,
		"DELETE /"+checkpoints+"/_doc/"+firstIndex,
	)
	if got := f.aliasTargets(alias); len(got) != 1 || got[0] != oldIndex {
		t.Errorf("alias points to %v, want it unchanged on %s", got, oldIndex)
	}
	if f.hasIndex(firstIndex) {
		t.Error("the unfinished index was not deleted")
	}
}

func TestCheckpoint(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	ctx := context.Background()
	f.reset()

	c, err := idx.Checkpoint(ctx)
	if err != nil || len(c) != 0 {
		t.Fatalf("first Checkpoint = %v, %v; want the start of the log", c, err)
	}
	if err := idx.SetCheckpoint(ctx, eventlog.Cursor{0: 5, 1: 7}); err != nil {
		t.Fatal(err)
	}
	c, err = idx.Checkpoint(ctx)
	if err != nil || c.String() != "0-5,1-7" {
		t.Fatalf("Checkpoint = %v, %v; want 0-5,1-7", c, err)
	}
	assertLines(t, f.lines(),
		"GET /_alias/"+alias,
		"GET /"+checkpoints+"/_doc/"+firstIndex,
		"GET /_alias/"+alias,
		"PUT /"+checkpoints+"/_doc/"+firstIndex,
		"GET /_alias/"+alias,
		"GET /"+checkpoints+"/_doc/"+firstIndex,
	)
	assertJSON(t, "checkpoint document", f.requests()[3].Body, `{"cursor":"0-5,1-7","updated_at":"2026-01-02T03:04:05.123Z"}`)
}

func TestPing(t *testing.T) {
	f := newFakeES(t)
	idx := open(t, f)
	f.reset()
	if err := idx.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	assertLines(t, f.lines(), "HEAD /")

	f.hook = func(r recorded, n int) (int, string, bool) { return 503, "", true }
	err := idx.Ping(context.Background())
	if domain.KindOf(err) != domain.KindUnavailable {
		t.Errorf("Ping on 503: kind %v, want Unavailable: %v", domain.KindOf(err), err)
	}
}

// errorChain is the text of an error and of every error it wraps, as a logger might print it.
func errorChain(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		fmt.Fprintf(&b, "%v | %+v | %#v\n", e, e, e)
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, je := range j.Unwrap() {
				b.WriteString(errorChain(je))
			}
		}
	}
	return b.String()
}

func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, secret := range []string{testPassword, testAPIKey, "Basic "} {
		if strings.Contains(text, secret) {
			t.Errorf("%s leaks a credential (%q): %s", what, secret, text)
		}
	}
}

func TestErrorsAndLogsNeverContainCredentials(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	t.Run("rejected password", func(t *testing.T) {
		f := newFakeES(t)
		f.hook = func(r recorded, n int) (int, string, bool) {
			reason := "unable to authenticate user [elastic] for REST request [" + r.Path + "] with password " + testPassword
			return 401, errorBody("security_exception", reason, 401), true
		}
		cfg := f.config()
		cfg.Username, cfg.Password, cfg.Logger = "elastic", testPassword, logger
		_, err := Open(context.Background(), cfg)
		if err == nil {
			t.Fatal("Open with a rejected password must fail")
		}
		if !strings.HasPrefix(f.requests()[0].Header.Get("Authorization"), "Basic ") {
			t.Error("the password was not sent as basic auth")
		}
		assertNoSecret(t, "error", errorChain(err))
	})

	t.Run("server errors with an API key", func(t *testing.T) {
		f := newFakeES(t)
		idx := open(t, f, func(c *Config) { c.APIKey, c.Logger = testAPIKey, logger })
		f.hook = func(r recorded, n int) (int, string, bool) {
			return 500, errorBody("exception", "boom while checking key "+testAPIKey, 500), true
		}
		_, err := idx.Search(context.Background(), search.Query{TeamID: "team_a"})
		if domain.KindOf(err) != domain.KindUnavailable {
			t.Errorf("a 500 must be Unavailable, got %v", err)
		}
		assertNoSecret(t, "error", errorChain(err))
		err = idx.Put(context.Background(), testDocs())
		if domain.KindOf(err) != domain.KindUnavailable {
			t.Errorf("a bulk 500 must be Unavailable, got %v", err)
		}
		assertNoSecret(t, "bulk error", errorChain(err))
	})

	t.Run("unreachable with credentials in the URL", func(t *testing.T) {
		f := newFakeES(t)
		f.srv.Close() // nothing listens there any more
		cfg := f.config()
		cfg.URLs = []string{strings.Replace(f.srv.URL, "http://", "http://elastic:"+testPassword+"@", 1)}
		cfg.Logger = logger
		cfg.MaxRetries = 1
		_, err := Open(context.Background(), cfg)
		if domain.KindOf(err) != domain.KindUnavailable {
			t.Fatalf("Open on a dead node: %v, want Unavailable", err)
		}
		assertNoSecret(t, "error", errorChain(err))
	})

	t.Run("malformed URL with a password", func(t *testing.T) {
		_, err := Open(context.Background(), Config{URLs: []string{"http://elastic:" + testPassword + "@bad host:92 00"}, Logger: logger})
		if err == nil {
			t.Fatal("a malformed URL must be refused")
		}
		assertNoSecret(t, "error", errorChain(err))
	})

	assertNoSecret(t, "logs", logs.String())
	if logs.Len() == 0 {
		t.Error("expected the failures to be logged")
	}
}

func TestOpenRefusesABadAlias(t *testing.T) {
	for _, a := range []string{"Upper", "with space", "a/b", "_x"} {
		if _, err := Open(context.Background(), Config{URLs: []string{"http://127.0.0.1:1"}, Alias: a}); err == nil {
			t.Errorf("alias %q accepted", a)
		}
	}
}
