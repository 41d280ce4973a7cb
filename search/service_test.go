package search

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

func TestSearchValidates(t *testing.T) {
	idx := newMemIndex()
	for _, c := range []struct {
		name  string
		req   Request
		field string
	}{
		{"sort", Request{Sort: "oldest"}, "sort"},
		{"thread", Request{ThreadID: "thread-1"}, "thread_id"},
		{"account link", Request{AccountLinkID: "thr_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, "account_link_id"},
		{"prospect", Request{ProspectID: "bob"}, "prospect_id"},
		{"platform", Request{Platform: "myspace"}, "platform"},
		{"direction", Request{Direction: "sideways"}, "direction"},
		{"page size", Request{PageSize: -1}, "page_size"},
		{"time range", Request{From: t0, To: t0}, "from"},
		{"query", Request{Query: `"open`}, "query"},
		{"token", Request{PageToken: "not base64!"}, "page_token"},
		{"token without id", Request{PageToken: "e30"}, "page_token"},
	} {
		_, _, err := Search(context.Background(), idx, "team_1", c.req)
		if domain.KindOf(err) != domain.KindInvalid || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("%s: %v, want bad input naming %s", c.name, err, c.field)
		}
	}
}

func TestSearchPages(t *testing.T) {
	var asked []Query
	idx := newMemIndex()
	hits := make([]Hit, 250)
	for i := range hits {
		hits[i] = Hit{MessageID: fmt.Sprintf("msg_%03d", i), Score: float64(1000-i) / 7, SentAt: t0.Add(time.Duration(i) * time.Nanosecond)}
	}
	idx.search = func(q Query) (Result, error) {
		asked = append(asked, q)
		start := 0
		if q.After != nil {
			for start < len(hits) && hits[start].MessageID != q.After.MessageID {
				start++
			}
			start++
		}
		end := min(start+q.Size, len(hits))
		return Result{Hits: hits[start:end], Total: int64(len(hits))}, nil
	}
	ctx := context.Background()
	req := Request{Query: "a b", Platform: "api", Direction: "inbound"}
	res, next, err := Search(ctx, idx, "team_1", req)
	if err != nil || len(res.Hits) != DefaultPageSize || next == "" || res.Total != 250 {
		t.Fatalf("first page: %d hits, next %q, total %d, %v", len(res.Hits), next, res.Total, err)
	}
	q := asked[0]
	if q.Size != DefaultPageSize+1 || q.TeamID != "team_1" || q.Platform != "api" || q.Direction != "inbound" || q.Sort != SortRelevance ||
		len(q.Terms.Must) != 2 || q.After != nil {
		t.Errorf("first query: %+v", q)
	}
	// The next page resumes after the last hit, with its exact sort values; the size may change.
	req.PageToken, req.PageSize = next, 1000
	res, next, err = Search(ctx, idx, "team_1", req)
	if err != nil || len(res.Hits) != MaxPageSize || res.Hits[0].MessageID != "msg_020" || next == "" {
		t.Fatalf("second page: %d hits from %v, next %q, %v", len(res.Hits), res.Hits, next, err)
	}
	if a := asked[1].After; a == nil || a.MessageID != "msg_019" || a.Score != hits[19].Score || !a.SentAt.Equal(hits[19].SentAt) {
		t.Errorf("second query resumes after %+v, want %+v", asked[1].After, hits[19])
	}
	seen := 20 + len(res.Hits)
	for next != "" {
		req.PageToken = next
		res, next, err = Search(ctx, idx, "team_1", req)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(res.Hits)
	}
	if seen != len(hits) || len(res.Hits) != 30 {
		t.Errorf("paged through %d hits, the last page with %d; want %d and 30", seen, len(res.Hits), len(hits))
	}
	// A token is bound to its team, query, filters and sort.
	for name, other := range map[string]func(r *Request) string{
		"team":   func(r *Request) string { return "team_2" },
		"query":  func(r *Request) string { r.Query = "a"; return "team_1" },
		"filter": func(r *Request) string { r.ThreadID = "thr_aaaaaaaaaaaaaaaaaaaaaaaaaa"; return "team_1" },
		"sort":   func(r *Request) string { r.Sort = "newest"; return "team_1" },
		"time":   func(r *Request) string { r.From = t0; return "team_1" },
	} {
		r := Request{Query: "a b", Platform: "api", Direction: "inbound", PageToken: encodeToken(binding("team_1", Request{Query: "a b", Platform: "api", Direction: "inbound"}), After{MessageID: "msg_1"})}
		team := other(&r)
		if _, _, err := Search(ctx, idx, team, r); domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "page_token") {
			t.Errorf("a token used with another %s: %v", name, err)
		}
	}
	// "relevance" and "" are the same sort.
	r := Request{Query: "a b", Sort: "relevance"}
	_, tok, _ := Search(ctx, idx, "team_1", r)
	if _, _, err := Search(ctx, idx, "team_1", Request{Query: "a b", PageToken: tok}); err != nil {
		t.Errorf("a relevance token on the default sort: %v", err)
	}
}

func TestSearchIndexFailure(t *testing.T) {
	idx := newMemIndex()
	idx.search = func(Query) (Result, error) { return Result{}, errors.New("connection refused") }
	_, _, err := Search(context.Background(), idx, "team_1", Request{})
	if domain.KindOf(err) != domain.KindUnavailable || strings.Contains(err.Error(), "refused") {
		t.Errorf("index failure: %v, want unavailable without the detail", err)
	}
}
