package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/domain"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

const searchMessages = "/switchboard.v1.SearchService/SearchMessages"

// TestSearch runs the search behaviour suite against the embedded engine (SQLite FTS5).
func TestSearch(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.start(t, t.TempDir())
			searchSuite(t, api{t, newConnectClient(s.Addr), adminKey}, s)
		})
	}
}

// TestSearchElasticsearch runs the same suite, unchanged, against a real Elasticsearch.
func TestSearchElasticsearch(t *testing.T) {
	url := os.Getenv("SWITCHBOARD_TEST_ELASTICSEARCH_URL")
	if url == "" {
		t.Skip("set SWITCHBOARD_TEST_ELASTICSEARCH_URL to run the search suite against Elasticsearch")
	}
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Roles: []string{"api", "ingest", "projector"},
		BootstrapKey: adminKey, ShutdownTimeout: 5 * time.Second,
		// An alias of its own, so runs against a shared cluster never see each other.
		Elasticsearch: server.ElasticsearchConfig{URL: url, Alias: "switchboard-test-" + strings.ToLower(domain.NewID(""))},
	}, logger)
	if err != nil {
		t.Fatalf("start server with Elasticsearch: %v", err)
	}
	t.Cleanup(func() { stopServer(t, s) })
	searchSuite(t, api{t, newConnectClient(s.Addr), adminKey}, s)
}

// searchSuite is THE search behaviour suite: it needs only a started server and its instance
// admin, and works in a team of its own, so it runs against any search engine, sharing its
// index with anything else.
func searchSuite(t *testing.T, admin api, s *server.Server) {
	a, teamID := newSearchTeam(admin, "search")
	c := seedSearchCorpus(a)
	all := c.ids(func(searchMsg) bool { return true })

	t.Run("words must all match", func(t *testing.T) {
		a := a.on(t)
		sameHits(t, "order late", a.searchIDs("order late"), c.ids(c.with("c1", "c3")))
		sameHits(t, "delivery late", a.searchIDs("delivery late"), c.ids(c.with("c1", "c2")))
		sameHits(t, "delivery courier", a.searchIDs("delivery courier"), nil)
		sameHits(t, "spaces and case", a.searchIDs("  LATE   Order "), c.ids(c.with("c1", "c3")))
	})
	t.Run("phrases", func(t *testing.T) {
		a := a.on(t)
		sameHits(t, `"order was late"`, a.searchIDs(`"order was late"`), c.ids(c.with("c1")))
		sameHits(t, `"late order"`, a.searchIDs(`"late order"`), c.ids(c.with("c3")))
		sameHits(t, `"was order late"`, a.searchIDs(`"was order late"`), nil)
		sameHits(t, `"the courier" never`, a.searchIDs(`"the courier" never`), c.ids(c.with("c3")))
	})
	t.Run("prefixes", func(t *testing.T) {
		a := a.on(t)
		sameHits(t, "deliv*", a.searchIDs("deliv*"), c.ids(c.with("c1", "c2", "c5")))
		sameHits(t, "DELIV*", a.searchIDs("DELIV*"), c.ids(c.with("c1", "c2", "c5")))
		sameHits(t, "parc* arr*", a.searchIDs("parc* arr*"), c.ids(c.with("c5")))
		sameHits(t, "zzz*", a.searchIDs("zzz*"), nil)
	})
	t.Run("exclusions", func(t *testing.T) {
		a := a.on(t)
		sameHits(t, "late -refund", a.searchIDs("late -refund"), c.ids(c.with("c1", "c3")))
		sameHits(t, `deliv* -"was late"`, a.searchIDs(`deliv* -"was late"`), c.ids(c.with("c5")))
		sameHits(t, "-late alone", a.searchIDs("parcel -late"), c.ids(c.with("c5", "c6")))
	})
	t.Run("names, usernames and attachments", func(t *testing.T) {
		a := a.on(t)
		// A word matches in any field: the prospect's name and the text together.
		sameHits(t, "alice late", a.searchIDs("alice late"), c.ids(c.with("c1", "c2")))
		sameHits(t, "display name", a.searchIDs(`"name dave"`), c.ids(c.by("dave")))
		sameHits(t, "attachment name", a.searchIDs("invoice"), c.ids(c.with("att")))
		sameHits(t, "attachment media type", a.searchIDs("pdf"), c.ids(c.with("att")))
		sameHits(t, "attachment kind", a.searchIDs("file attached"), c.ids(c.with("att")))
	})
	t.Run("filters", func(t *testing.T) {
		a := a.on(t)
		in, out := v1.Direction_DIRECTION_INBOUND, v1.Direction_DIRECTION_OUTBOUND
		alice := c.get("c1")
		cases := []struct {
			name string
			req  *v1.SearchMessagesRequest
			want func(searchMsg) bool
		}{
			{"platform", &v1.SearchMessagesRequest{Platform: v1.Platform_PLATFORM_MESSENGER},
				func(m searchMsg) bool { return m.platform == v1.Platform_PLATFORM_MESSENGER }},
			{"account link", &v1.SearchMessagesRequest{AccountLinkId: c.links[2]},
				func(m searchMsg) bool { return m.link == c.links[2] }},
			{"thread", &v1.SearchMessagesRequest{ThreadId: alice.thread},
				func(m searchMsg) bool { return m.thread == alice.thread }},
			{"prospect", &v1.SearchMessagesRequest{ProspectId: alice.prospect},
				func(m searchMsg) bool { return m.prospect == alice.prospect }},
			{"direction", &v1.SearchMessagesRequest{Direction: out},
				func(m searchMsg) bool { return m.dir == out }},
			{"from", &v1.SearchMessagesRequest{From: timestamppb.New(at(3))},
				func(m searchMsg) bool { return !m.at.Before(at(3)) }},
			{"to (exclusive)", &v1.SearchMessagesRequest{To: timestamppb.New(at(3))},
				func(m searchMsg) bool { return m.at.Before(at(3)) }},
			{"from and to", &v1.SearchMessagesRequest{From: timestamppb.New(at(2)), To: timestamppb.New(at(4))},
				func(m searchMsg) bool { return !m.at.Before(at(2)) && m.at.Before(at(4)) }},
			{"words and filters", &v1.SearchMessagesRequest{Query: "late", Direction: in, Platform: v1.Platform_PLATFORM_API},
				func(m searchMsg) bool { return m.key == "c1" }},
		}
		for _, tc := range cases {
			want := c.ids(tc.want)
			if len(want) == 0 {
				t.Fatalf("%s: the corpus has no message for this filter", tc.name)
			}
			hits, total := a.searchAll(tc.req)
			sameHits(t, tc.name, hitIDs(hits), want)
			if total != int64(len(want)) {
				t.Errorf("%s: total %d, want %d", tc.name, total, len(want))
			}
		}
	})
	t.Run("sort by relevance", func(t *testing.T) {
		a := a.on(t)
		// c4 says refund three times in three words; c2 once in nine, and is newer.
		hits, _ := a.searchAll(&v1.SearchMessagesRequest{Query: "refund"})
		if got, want := hitIDs(hits), c.inOrder("c4", "c2"); !slices.Equal(got, want) {
			t.Errorf("relevance: %v, want %v (the better match first)", got, want)
		}
		if len(hits) == 2 && !(hits[0].Score > hits[1].Score) {
			t.Errorf("relevance: scores %v, %v are not decreasing", hits[0].Score, hits[1].Score)
		}
		explicit, _ := a.searchAll(&v1.SearchMessagesRequest{Query: "refund", Sort: "relevance"})
		if !slices.Equal(hitIDs(explicit), hitIDs(hits)) {
			t.Errorf(`sort "relevance" differs from the default`)
		}
	})
	t.Run("sort by newest", func(t *testing.T) {
		a := a.on(t)
		hits, _ := a.searchAll(&v1.SearchMessagesRequest{Query: "refund", Sort: "newest"})
		if got, want := hitIDs(hits), c.inOrder("c2", "c4"); !slices.Equal(got, want) {
			t.Errorf("newest: %v, want %v", got, want)
		}
		hits, _ = a.searchAll(&v1.SearchMessagesRequest{Sort: "newest", PageSize: 3})
		if len(hits) != len(all) {
			t.Fatalf("newest, no query: %d hits, want %d", len(hits), len(all))
		}
		for i := 1; i < len(hits); i++ {
			if hits[i].Message.SentAt.AsTime().After(hits[i-1].Message.SentAt.AsTime()) {
				t.Errorf("newest: hit %d (%v) is newer than hit %d (%v)", i, hits[i].Message.SentAt.AsTime(), i-1, hits[i-1].Message.SentAt.AsTime())
			}
		}
	})
	t.Run("total and hits", func(t *testing.T) {
		a := a.on(t)
		res := a.search(&v1.SearchMessagesRequest{PageSize: 1})
		if res.Total != int64(len(all)) || len(res.Hits) != 1 || res.NextPageToken == "" {
			t.Errorf("no query, page size 1: total %d, %d hits, next %q; want total %d, 1 hit and a next page", res.Total, len(res.Hits), res.NextPageToken, len(all))
		}
		res = a.search(&v1.SearchMessagesRequest{Query: "late", PageSize: 2})
		if res.Total != 3 || len(res.Hits) != 2 {
			t.Errorf("late, page size 2: total %d, %d hits; want 3 and 2", res.Total, len(res.Hits))
		}
		res = a.search(&v1.SearchMessagesRequest{Query: "late", PageSize: 2, PageToken: res.NextPageToken})
		if res.Total != 3 || len(res.Hits) != 1 || res.NextPageToken != "" {
			t.Errorf("late, page 2: total %d, %d hits, next %q; want 3, 1 and the last page", res.Total, len(res.Hits), res.NextPageToken)
		}
		h := a.search(&v1.SearchMessagesRequest{Query: "courier"}).Hits
		c3 := c.get("c3")
		if len(h) != 1 || h[0].ThreadId != c3.thread || h[0].Message.Id != c3.id || h[0].Message.Text != c3.text ||
			h[0].Message.ThreadId != c3.thread || h[0].Message.Direction != c3.dir {
			t.Errorf("courier: %v, want message %s of thread %s with its text", h, c3.id, c3.thread)
		}
	})
	t.Run("highlights", func(t *testing.T) {
		a := a.on(t)
		for _, tc := range []struct{ query, marked string }{
			{"courier", "<mark>courier</mark>"},
			{"deliv* -was", "<mark>delivered</mark>"},
			{`"order was late"`, "<mark>"},
			{"cafe lait", "<mark>café</mark>"},
		} {
			h := a.search(&v1.SearchMessagesRequest{Query: tc.query}).Hits
			if len(h) == 0 {
				t.Errorf("%s: no hit", tc.query)
				continue
			}
			if !strings.Contains(strings.Join(h[0].Highlights, " "), tc.marked) {
				t.Errorf("%s: highlights %q do not hold %q", tc.query, h[0].Highlights, tc.marked)
			}
		}
		// Highlights are HTML: the only markup in them is <mark>, the text is escaped.
		h := a.search(&v1.SearchMessagesRequest{Query: "bold"}).Hits
		if len(h) != 1 {
			t.Fatalf("bold: %d hits, want 1", len(h))
		}
		joined := strings.Join(h[0].Highlights, " ")
		if !strings.Contains(joined, "<mark>bold</mark>") || strings.Contains(joined, "<b>") {
			t.Errorf("bold: highlights %q, want <mark>bold</mark> and the <b> tag escaped", h[0].Highlights)
		}
	})
	t.Run("multilingual", func(t *testing.T) {
		a := a.on(t)
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"cafe", []string{"fr", "fr2"}}, {"café", []string{"fr", "fr2"}}, {"CAFÉ", []string{"fr", "fr2"}},
			{"plait", []string{"fr", "fr2"}}, {"crème", []string{"fr2"}},
			{"strasse", []string{"de"}}, {"STRASSE", []string{"de"}}, {"Straße", []string{"de"}},
			{"привет", []string{"ru"}}, {"ПРИВЕТ", []string{"ru"}}, {"прив*", []string{"ru"}}, {`"как дела"`, []string{"ru"}},
			{"مرحبا", []string{"ar"}}, {"صديقي", []string{"ar"}},
			{"東京", []string{"ja"}}, {"大学", []string{"ja"}}, {"東京大学", []string{"ja"}}, {"京都", nil},
			// Emoji are words: a message is found by the emoji it holds.
			{"🎉", []string{"emoji"}}, {"🎉 party", []string{"emoji"}}, {"🍕", nil},
		} {
			sameHits(t, tc.query, a.searchIDs(tc.query), c.ids(c.with(tc.want...)))
		}
	})
	t.Run("paging while messages arrive", func(t *testing.T) {
		for _, sort := range []string{"relevance", "newest"} {
			pagingWhileHitsArrive(a.on(t), c, sort)
		}
	})
	t.Run("page token is bound to its search", func(t *testing.T) {
		a := a.on(t)
		res := a.search(&v1.SearchMessagesRequest{Query: "late", PageSize: 1})
		if res.NextPageToken == "" {
			t.Fatal("late, page size 1: no next page")
		}
		for name, req := range map[string]*v1.SearchMessagesRequest{
			"another query": {Query: "order", PageSize: 1, PageToken: res.NextPageToken},
			"another sort":  {Query: "late", Sort: "newest", PageSize: 1, PageToken: res.NextPageToken},
			"a filter":      {Query: "late", Direction: v1.Direction_DIRECTION_INBOUND, PageSize: 1, PageToken: res.NextPageToken},
		} {
			err := a.try(searchMessages, req, &v1.SearchMessagesResponse{})
			wantCode(t, name, err, connect.CodeInvalidArgument)
			if err != nil && !strings.Contains(messageOf(err), "page_token") {
				t.Errorf("%s: error %q does not name page_token", name, messageOf(err))
			}
		}
	})
	t.Run("edits", func(t *testing.T) {
		a := a.on(t)
		m := a.ingestSearchable(searchMsg{link: c.links[0], prospect: "erin", id: "edit-1", dir: v1.Direction_DIRECTION_INBOUND,
			text: "the color is turquoise", at: at(30)}, "turquoise")
		appendEvent(t, s, teamID, m.prospect, domain.MessageEdited{MessageID: m.id, ThreadID: m.thread, ProspectID: m.prospect, Text: "the colour is now magenta"})
		eventuallySearch(t, "after the edit", func() error {
			if got := a.search(&v1.SearchMessagesRequest{Query: "magenta"}); len(got.Hits) != 1 || got.Hits[0].Message.Id != m.id || !got.Hits[0].Message.Edited {
				return fmt.Errorf("magenta finds %v, want the edited %s", got.Hits, m.id)
			}
			if got := a.search(&v1.SearchMessagesRequest{Query: "turquoise"}); got.Total != 0 {
				return fmt.Errorf("turquoise still finds %d", got.Total)
			}
			return nil
		})
		sameHits(t, "edited phrase", a.searchIDs(`"now magenta"`), []string{m.id})
		sameHits(t, "the rest of the text", a.searchIDs("colour"), []string{m.id})
	})
	t.Run("deletes", func(t *testing.T) {
		a := a.on(t)
		before := a.search(&v1.SearchMessagesRequest{}).Total
		m := a.ingestSearchable(searchMsg{link: c.links[0], prospect: "erin", id: "delete-1", dir: v1.Direction_DIRECTION_INBOUND,
			text: "ephemeral xylophone", at: at(31)}, "xylophone")
		appendEvent(t, s, teamID, m.prospect, domain.MessageDeleted{MessageID: m.id, ThreadID: m.thread, ProspectID: m.prospect})
		eventuallySearch(t, "after the delete", func() error {
			if got := a.search(&v1.SearchMessagesRequest{Query: "xylophone"}); got.Total != 0 || len(got.Hits) != 0 {
				return fmt.Errorf("xylophone still finds %d", got.Total)
			}
			if got := a.search(&v1.SearchMessagesRequest{}).Total; got != before {
				return fmt.Errorf("total %d, want %d as before the message", got, before)
			}
			return nil
		})
	})
	t.Run("prospect renamed", func(t *testing.T) {
		a := a.on(t)
		m1 := a.ingestSearchable(searchMsg{link: c.links[1], prospect: "renamee", id: "rename-1", dir: v1.Direction_DIRECTION_INBOUND,
			text: "first words", at: at(33)}, "first")
		m2 := a.ingestSearchable(searchMsg{link: c.links[1], prospect: "renamee", id: "rename-2", dir: v1.Direction_DIRECTION_OUTBOUND,
			text: "second words", at: at(34)}, "second")
		appendEvent(t, s, teamID, m1.prospect, domain.ProspectProfileUpdated{ProspectID: m1.prospect, Platform: domain.PlatformMessenger,
			PlatformID: "renamee", DisplayName: "Zebediah Quux"})
		eventuallySearch(t, "after the rename", func() error {
			if got := a.searchIDs("zebediah words"); !sameIDs(got, []string{m1.id, m2.id}) {
				return fmt.Errorf("zebediah words finds %v, want %v", got, []string{m1.id, m2.id})
			}
			return nil
		})
		sameHits(t, "the username is kept", a.searchIDs("renamee"), []string{m1.id, m2.id})
	})
	t.Run("freshness", func(t *testing.T) {
		// Within a second in embedded mode; only "eventually" is asserted here.
		start := time.Now()
		a.on(t).ingestSearchable(searchMsg{link: c.links[1], prospect: "frank", id: "fresh-1", dir: v1.Direction_DIRECTION_INBOUND,
			text: "zeitgeist", at: at(32)}, "zeitgeist")
		t.Logf("searchable %v after the ingest began", time.Since(start))
	})
	t.Run("tenant isolation", func(t *testing.T) {
		a := a.on(t)
		b, _ := newSearchTeam(admin.on(t), "search-other")
		link := b.link(v1.Platform_PLATFORM_API, "other-shop").Id
		own := b.ingestSearchable(searchMsg{link: link, prospect: "alice", id: "o-1", dir: v1.Direction_DIRECTION_INBOUND,
			text: "the delivery of my order was late", at: at(1)}, "delivery")
		for _, q := range []string{"delivery", "late order", `"order was late"`, "deliv*", "alice", ""} {
			sameHits(t, "team two: "+q, b.searchIDs(q), []string{own.id})
			for _, id := range a.searchIDs(q) {
				if id == own.id {
					t.Errorf("team one finds team two's message with %q", q)
				}
			}
		}
		if got := b.searchIDs(""); len(got) != 1 {
			t.Errorf("team two finds %d messages, want its 1", len(got))
		}
		for name, req := range map[string]*v1.SearchMessagesRequest{
			"team one's account link": {AccountLinkId: c.links[0]},
			"team one's thread":       {ThreadId: c.get("c1").thread},
			"team one's prospect":     {ProspectId: c.get("c1").prospect},
		} {
			hits, total := b.searchAll(req)
			if len(hits) != 0 || total != 0 {
				t.Errorf("team two filtering by %s: %d hits, total %d", name, len(hits), total)
			}
		}
		res := a.search(&v1.SearchMessagesRequest{PageSize: 1})
		err := b.try(searchMessages, &v1.SearchMessagesRequest{PageSize: 1, PageToken: res.NextPageToken}, &v1.SearchMessagesResponse{})
		wantCode(t, "team one's page token in team two", err, connect.CodeInvalidArgument)
	})
	t.Run("bad input", func(t *testing.T) {
		a := a.on(t)
		for _, tc := range []struct {
			name  string
			key   string
			req   *v1.SearchMessagesRequest
			code  connect.Code
			field string
		}{
			{"no key", "", &v1.SearchMessagesRequest{Query: "late"}, connect.CodeUnauthenticated, ""},
			{"wrong key", "sb_wrong", &v1.SearchMessagesRequest{Query: "late"}, connect.CodeUnauthenticated, ""},
			{"bad sort", a.key, &v1.SearchMessagesRequest{Query: "late", Sort: "oldest"}, connect.CodeInvalidArgument, "sort"},
			{"malformed thread", a.key, &v1.SearchMessagesRequest{ThreadId: "thread-1"}, connect.CodeInvalidArgument, "thread_id"},
			{"malformed account link", a.key, &v1.SearchMessagesRequest{AccountLinkId: "thr_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, connect.CodeInvalidArgument, "account_link_id"},
			{"malformed prospect", a.key, &v1.SearchMessagesRequest{ProspectId: "bob"}, connect.CodeInvalidArgument, "prospect_id"},
			{"unclosed quote", a.key, &v1.SearchMessagesRequest{Query: `"late order`}, connect.CodeInvalidArgument, "query"},
			{"lone star", a.key, &v1.SearchMessagesRequest{Query: "*"}, connect.CodeInvalidArgument, "query"},
			{"unknown platform", a.key, &v1.SearchMessagesRequest{Platform: 99}, connect.CodeInvalidArgument, "platform"},
			{"unknown direction", a.key, &v1.SearchMessagesRequest{Direction: 9}, connect.CodeInvalidArgument, "direction"},
			{"negative page size", a.key, &v1.SearchMessagesRequest{PageSize: -1}, connect.CodeInvalidArgument, "page_size"},
			{"garbage page token", a.key, &v1.SearchMessagesRequest{PageToken: "garbage!"}, connect.CodeInvalidArgument, "page_token"},
			{"from after to", a.key, &v1.SearchMessagesRequest{From: timestamppb.New(at(5)), To: timestamppb.New(at(1))}, connect.CodeInvalidArgument, "from"},
		} {
			err := a.as(tc.key).try(searchMessages, tc.req, &v1.SearchMessagesResponse{})
			wantCode(t, tc.name, err, tc.code)
			if tc.field != "" && err != nil && !strings.Contains(messageOf(err), tc.field) {
				t.Errorf("%s: error %q does not name %q", tc.name, messageOf(err), tc.field)
			}
		}
		// A page size above the maximum is capped, not refused.
		if res := a.search(&v1.SearchMessagesRequest{PageSize: 1000}); len(res.Hits) == 0 || len(res.Hits) > 100 {
			t.Errorf("page size 1000: %d hits", len(res.Hits))
		}
	})
}

// pagingWhileHitsArrive walks a search in pages of 2 while new matching messages arrive
// between pages, some better and some worse, some newer and some older than the page: every
// hit that existed when the walk began is seen exactly once.
func pagingWhileHitsArrive(a api, c *searchCorpus, sort string) {
	t := a.t
	t.Helper()
	q := "pager" + sort
	filler := []string{"", " one", " one two", " one two three four", " one two three four five six seven"}
	var existing []string
	for i := 0; i < 7; i++ {
		m := a.ingestMsg(searchMsg{link: c.links[i%len(c.links)], prospect: fmt.Sprintf("pager-%d", i%3), id: fmt.Sprintf("%s-%d", q, i),
			dir: v1.Direction_DIRECTION_INBOUND, text: q + filler[i%len(filler)], at: at(40 + i)})
		existing = append(existing, m.id)
	}
	eventuallySearch(t, "the messages to page through are indexed", func() error {
		if got := a.search(&v1.SearchMessagesRequest{Query: q}).Total; got != int64(len(existing)) {
			return fmt.Errorf("%s: total %d, want %d", q, got, len(existing))
		}
		return nil
	})
	seen := map[string]int{}
	var arrived []string
	req := &v1.SearchMessagesRequest{Query: q, Sort: sort, PageSize: 2}
	for page := 0; ; page++ {
		res := a.search(req)
		if len(res.Hits) > 2 {
			t.Errorf("%s: page %d has %d hits, want at most 2", sort, page, len(res.Hits))
		}
		for _, h := range res.Hits {
			seen[h.Message.Id]++
		}
		if res.NextPageToken == "" {
			break
		}
		if page > 20 {
			t.Fatalf("%s: paging does not end", sort)
		}
		// Older and newer, shorter (scoring higher) and longer (lower) than what is paged.
		for j, text := range []string{q, q + " one two three four five six seven eight"} {
			m := a.ingestMsg(searchMsg{link: c.links[0], prospect: "pager-new", id: fmt.Sprintf("%s-new-%d-%d", q, page, j),
				dir: v1.Direction_DIRECTION_INBOUND, text: text, at: at(38 + 5*j*page)})
			arrived = append(arrived, m.id)
		}
		req = proto.Clone(req).(*v1.SearchMessagesRequest)
		req.PageToken = res.NextPageToken
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s: %s seen %d times", sort, id, n)
		}
		if !slices.Contains(existing, id) && !slices.Contains(arrived, id) {
			t.Errorf("%s: unexpected hit %s", sort, id)
		}
	}
	for _, id := range existing {
		if seen[id] == 0 {
			t.Errorf("%s: %s, there from the start, was skipped", sort, id)
		}
	}
}

// searchMsg is one message of the corpus, as sent and as the suite expects to find it.
type searchMsg struct {
	key                string // the corpus's name for it
	link, prospect, id string // before ingest: the platform's ids; after: Switchboard's
	prospectName       string // the platform's id of the prospect, once ingested
	thread             string
	platform           v1.Platform
	dir                v1.Direction
	text               string
	at                 time.Time
	attachments        []*v1.Attachment
}

type searchCorpus struct {
	links []string // account links: API, Messenger, API
	msgs  []searchMsg
}

// seedSearchCorpus ingests the suite's messages and waits until every one is searchable.
func seedSearchCorpus(a api) *searchCorpus {
	a.t.Helper()
	c := &searchCorpus{}
	platforms := []v1.Platform{v1.Platform_PLATFORM_API, v1.Platform_PLATFORM_MESSENGER, v1.Platform_PLATFORM_API}
	for i, p := range platforms {
		c.links = append(c.links, a.link(p, fmt.Sprintf("search-%d", i)).Id)
	}
	in, out := v1.Direction_DIRECTION_INBOUND, v1.Direction_DIRECTION_OUTBOUND
	for _, m := range []searchMsg{
		{key: "c1", link: c.links[0], prospect: "alice", dir: in, at: at(1), text: "The delivery of my order was late"},
		{key: "c2", link: c.links[0], prospect: "alice", dir: out, at: at(2), text: "Sorry the delivery was late, we will refund you today"},
		{key: "c3", link: c.links[1], prospect: "bob", dir: in, at: at(3), text: "Late order again, and the courier never called"},
		{key: "c4", link: c.links[1], prospect: "bob", dir: out, at: at(-10), text: "refund refund refund"},
		{key: "c5", link: c.links[2], prospect: "carol", dir: in, at: at(5), text: "When will the delivered parcel arrive?"},
		{key: "c6", link: c.links[2], prospect: "dave", dir: out, at: at(6), text: "Your parcel is on its way"},
		{key: "att", link: c.links[2], prospect: "carol", dir: in, at: at(7), text: "see attached",
			attachments: []*v1.Attachment{{Type: "file", Name: "invoice_march.pdf", MimeType: "application/pdf", Url: "https://example.com/i.pdf"}}},
		{key: "html", link: c.links[0], prospect: "alice", dir: in, at: at(8), text: "this is <b>bold</b> of you"},
		{key: "fr", link: c.links[1], prospect: "gaston", dir: in, at: at(9), text: "Un café au lait, s'il vous plaît"},
		{key: "fr2", link: c.links[1], prospect: "gaston", dir: in, at: at(10), text: "CAFE CREME, s'il vous plait"},
		{key: "de", link: c.links[1], prospect: "gaston", dir: in, at: at(11), text: "Wir treffen uns in der Straße"},
		{key: "ru", link: c.links[1], prospect: "ivan", dir: in, at: at(12), text: "Привет! Как дела?"},
		{key: "ar", link: c.links[1], prospect: "omar", dir: in, at: at(13), text: "مرحبا يا صديقي"},
		{key: "ja", link: c.links[1], prospect: "yuki", dir: in, at: at(14), text: "東京大学で会いましょう"},
		{key: "emoji", link: c.links[1], prospect: "yuki", dir: in, at: at(15), text: "party time 🎉 see you"},
	} {
		m.id = m.key
		m.platform = platforms[slices.Index(c.links, m.link)]
		c.msgs = append(c.msgs, a.ingestMsg(m))
	}
	eventuallySearch(a.t, "the corpus is indexed", func() error {
		if got := a.search(&v1.SearchMessagesRequest{}).Total; got != int64(len(c.msgs)) {
			return fmt.Errorf("%d messages found, want %d", got, len(c.msgs))
		}
		return nil
	})
	return c
}

func (c *searchCorpus) get(key string) searchMsg {
	for _, m := range c.msgs {
		if m.key == key {
			return m
		}
	}
	panic("no message " + key)
}

// inOrder returns the ids of messages in the order named.
func (c *searchCorpus) inOrder(keys ...string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = c.get(k).id
	}
	return out
}

func (c *searchCorpus) with(keys ...string) func(searchMsg) bool {
	return func(m searchMsg) bool { return slices.Contains(keys, m.key) }
}

func (c *searchCorpus) by(prospect string) func(searchMsg) bool {
	return func(m searchMsg) bool { return m.prospectName == prospect }
}

func (c *searchCorpus) ids(keep func(searchMsg) bool) []string {
	var out []string
	for _, m := range c.msgs {
		if keep(m) {
			out = append(out, m.id)
		}
	}
	return out
}

// newSearchTeam creates a team and returns its owner's api and the team's id.
func newSearchTeam(admin api, name string) (api, string) {
	admin.t.Helper()
	team := call[v1.CreateTeamResponse](admin, teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: name})
	return admin.as(team.OwnerKey), team.TeamId
}

// on is the same api reporting to another test.
func (a api) on(t *testing.T) api { return api{t, a.c, a.key} }

// ingestMsg ingests m and returns it with Switchboard's ids.
func (a api) ingestMsg(m searchMsg) searchMsg {
	a.t.Helper()
	res := call[v1.IngestMessageResponse](a, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{
		AccountLinkId: m.link, PlatformMessageId: m.id, Direction: m.dir,
		Participant: &v1.Participant{PlatformId: m.prospect, Username: m.prospect, DisplayName: "Name " + m.prospect},
		Text:        m.text, SentAt: timestamppb.New(m.at), Attachments: m.attachments,
	})
	m.prospectName = m.prospect
	m.id, m.thread, m.prospect = res.MessageId, res.ThreadId, res.ProspectId
	return m
}

// ingestSearchable ingests m and waits until word finds it.
func (a api) ingestSearchable(m searchMsg, word string) searchMsg {
	a.t.Helper()
	m = a.ingestMsg(m)
	eventuallySearch(a.t, word+" is searchable", func() error {
		if got := a.searchIDs(word); !slices.Contains(got, m.id) {
			return fmt.Errorf("%s finds %v, not %s", word, got, m.id)
		}
		return nil
	})
	return m
}

// search runs one page.
func (a api) search(req *v1.SearchMessagesRequest) *v1.SearchMessagesResponse {
	a.t.Helper()
	return call[v1.SearchMessagesResponse](a, searchMessages, req)
}

// searchAll follows every page and returns the hits in order and the total of the first page.
func (a api) searchAll(req *v1.SearchMessagesRequest) ([]*v1.SearchHit, int64) {
	a.t.Helper()
	var hits []*v1.SearchHit
	var total int64 = -1
	for page := 0; ; page++ {
		res := a.search(req)
		hits = append(hits, res.Hits...)
		if total < 0 {
			total = res.Total
		}
		if res.NextPageToken == "" {
			return hits, total
		}
		if page > 100 {
			a.t.Fatalf("search %q: paging does not end", req.Query)
		}
		req = proto.Clone(req).(*v1.SearchMessagesRequest)
		req.PageToken = res.NextPageToken
	}
}

// searchIDs returns the ids of every message a query finds, in order.
func (a api) searchIDs(query string) []string {
	a.t.Helper()
	hits, _ := a.searchAll(&v1.SearchMessagesRequest{Query: query, PageSize: 100})
	return hitIDs(hits)
}

func hitIDs(hits []*v1.SearchHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Message.Id
	}
	return out
}

func sameHits(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !sameIDs(got, want) {
		t.Errorf("%s: found %v, want %v", what, got, want)
	}
}

func sameIDs(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// eventuallySearch polls check until it passes: an index may lag its log by a moment.
func eventuallySearch(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// appendEvent appends a platform event about a prospect, as a webhook would.
func appendEvent(t *testing.T, s *server.Server, teamID, prospectID string, p domain.Payload) {
	t.Helper()
	now := time.Now().UTC()
	_, err := s.EventLog().Append(context.Background(), []domain.Event{{
		ID: domain.NewID(domain.PrefixEvent), TeamID: teamID, Key: prospectID, OccurredAt: now, RecordedAt: now,
		Actor: domain.ActorPlatform(domain.PlatformAPI), Origin: domain.OriginWebhook, Payload: p,
	}})
	if err != nil {
		t.Fatalf("append %s: %v", p.EventType(), err)
	}
}

// TestSearchRebuild: dropping the search index and restarting rebuilds it from the log, and
// the same searches find the same hits, in the same order, with the same highlights.
func TestSearchRebuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	a, teamID := newSearchTeam(api{t, newConnectClient(s.Addr), adminKey}, "rebuild")
	c := seedSearchCorpus(a)
	m := c.get("c3")
	appendEvent(t, s, teamID, m.prospect, domain.MessageEdited{MessageID: m.id, ThreadID: m.thread, ProspectID: m.prospect, Text: "Late order again, the courier rang twice"})
	m = c.get("c6")
	appendEvent(t, s, teamID, m.prospect, domain.MessageDeleted{MessageID: m.id, ThreadID: m.thread, ProspectID: m.prospect})
	eventuallySearch(t, "the edit and the delete are indexed", func() error {
		if got := a.searchIDs("rang parcel"); len(got) != 0 {
			return fmt.Errorf("rang parcel finds %v", got)
		}
		if got := a.search(&v1.SearchMessagesRequest{Query: "rang"}); got.Total != 1 || len(got.Hits) != 1 || !got.Hits[0].Message.Edited {
			return fmt.Errorf("rang finds %v", got)
		}
		if got := a.search(&v1.SearchMessagesRequest{Query: "parcel"}); got.Total != 1 || len(got.Hits) != 1 {
			return fmt.Errorf("parcel finds %v", got)
		}
		return nil
	})
	searches := func(a api) []proto.Message {
		var out []proto.Message
		for _, q := range []string{"", "late", "deliv*", `"order again"`, "refund", "parcel", "rang", "cafe", "東京", "-late"} {
			for _, sort := range []string{"relevance", "newest"} {
				res := a.search(&v1.SearchMessagesRequest{Query: q, Sort: sort, PageSize: 100})
				out = append(out, res)
			}
		}
		return out
	}
	before := searches(a)
	stopServer(t, s)

	s = startServer(t, dir)
	compare(t, "after restart", before, searches(a.withClient(newConnectClient(s.Addr))))
	stopServer(t, s)

	for _, f := range []string{"search.db", "search.db-wal", "search.db-shm"} {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	s = startServer(t, dir)
	compare(t, "after rebuild", before, searches(a.withClient(newConnectClient(s.Addr))))
}

func (a api) withClient(c client) api { return api{a.t, c, a.key} }

// TestSearchMigratesFromBleve: a data folder of an older version holds a Bleve index
// (search.bleve) and no SQLite search index. It starts, drops the Bleve folder, builds the
// new index from the log (saying so in its log), and every search answers as before.
func TestSearchMigratesFromBleve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	a, _ := newSearchTeam(api{t, newConnectClient(s.Addr), adminKey}, "migrate")
	seedSearchCorpus(a)
	searches := func(a api) []proto.Message {
		var out []proto.Message
		for _, q := range []string{"", "late", "deliv*", `"order again"`, "refund", "cafe", "東京", "-late", "invoice"} {
			for _, sort := range []string{"relevance", "newest"} {
				out = append(out, a.search(&v1.SearchMessagesRequest{Query: q, Sort: sort, PageSize: 100}))
			}
		}
		return out
	}
	before := searches(a)
	stopServer(t, s)

	// What an older version left: a Bleve folder, and no search.db.
	for _, f := range []string{"search.db", "search.db-wal", "search.db-shm"} {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	bleveDir := filepath.Join(dir, "search.bleve")
	if err := os.MkdirAll(filepath.Join(bleveDir, "store"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"index_meta.json": `{"storage":"scorch","index_type":"scorch"}`, "store/root.bolt": "bolt"} {
		if err := os.WriteFile(filepath.Join(bleveDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	var logs lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0", Roles: []string{"api", "ingest", "projector"},
		BootstrapKey: adminKey, ShutdownTimeout: 5 * time.Second}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("start on a data folder with a Bleve index: %v", err)
	}
	t.Cleanup(func() { stopServer(t, s) })
	if err := s.WaitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	compare(t, "after the migration", before, searches(a.withClient(newConnectClient(s.Addr))))
	if _, err := os.Stat(bleveDir); !os.IsNotExist(err) {
		t.Errorf("the Bleve folder is still there: %v", err)
	}
	for _, line := range []string{"dropping the Bleve search index", "search index empty: building it from the event log", "search index built from the event log"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("the log does not say %q:\n%s", line, logs.String())
		}
	}
}
