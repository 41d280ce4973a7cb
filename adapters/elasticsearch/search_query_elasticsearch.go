package elasticsearch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard-oss/switchboard/search"
)

// The query DSL, clause by clause (the same semantics as adapters/sqlitefts):
//
//   - Word: multi_match best_fields, operator "and", over text, attachment_names,
//     prospect_name and prospect_username. A word the analyzer splits (e-mail, CJK) needs all
//     its pieces in one field.
//   - Phrase: match_phrase on text: the analyzed words in order, next to each other.
//   - Prefix: multi_match bool_prefix, operator "and", over the same fields as Word. The input
//     goes through the field's analyzer first (lowercase, accent folding, CJK width and bigrams),
//     so "Café*" looks for terms starting with "cafe", exactly as they were indexed; the last
//     analyzed term becomes a Lucene PrefixQuery. This is why not a raw prefix query (its
//     input is not analyzed: "Café" would never match the indexed "cafe") and not
//     match_phrase_prefix (its max_expansions, 50 by default, silently drops matches once a
//     short prefix has more terms). Unlike an index_prefixes subfield, the prefix query stays
//     on the text field itself, so the unified highlighter marks prefix matches too.
//   - Must clauses are bool.must; MustNot clauses, built the same way, are bool.must_not.
//     A Must clause the analyzer reduces to nothing (punctuation only) matches everything
//     (zero_terms_query "all") instead of emptying the result; a MustNot one excludes nothing.
//   - Filters are term and range clauses in bool.filter (no scoring, cached), always with
//     team_id: a team only ever finds its own messages.
//   - Sort: relevance is [_score desc, sent_at desc, message_id desc], newest is
//     [sent_at desc, message_id desc]; message_id (a keyword with doc values, unique within a
//     team) is the tie-breaker, so search_after from the last hit's sort values never repeats
//     or skips a hit. _id is not used: it has no doc values to sort on.
//   - track_total_hits: true for an exact total; highlight on text with <mark></mark> and the
//     html encoder, so message text cannot inject markup into a snippet.

// searchFields are the fields a word or a prefix is looked for in.
var searchFields = []string{"text", "attachment_names", "prospect_name", "prospect_username"}

const (
	defaultPageSize = 20
	maxPageSize     = 1000
)

// searchBody builds the _search request body for q.
func searchBody(q search.Query) ([]byte, error) {
	if q.TeamID == "" {
		return nil, errors.New("elasticsearch search: a team id is required")
	}
	size := q.Size
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)

	filter := []any{term("team_id", q.TeamID)}
	for _, f := range []struct{ field, value string }{
		{"platform", q.Platform},
		{"account_link_id", q.AccountLinkID},
		{"thread_id", q.ThreadID},
		{"prospect_id", q.ProspectID},
		{"direction", q.Direction},
	} {
		if f.value != "" {
			filter = append(filter, term(f.field, f.value))
		}
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		r := map[string]any{"format": "strict_date_optional_time"}
		if !q.From.IsZero() {
			r["gte"] = formatMillis(q.From)
		}
		if !q.To.IsZero() {
			r["lt"] = formatMillis(q.To)
		}
		filter = append(filter, map[string]any{"range": map[string]any{"sent_at": r}})
	}

	boolQuery := map[string]any{"filter": filter}
	if len(q.Terms.Must) > 0 {
		must := make([]any, 0, len(q.Terms.Must))
		for _, c := range q.Terms.Must {
			must = append(must, clause(c, "all"))
		}
		boolQuery["must"] = must
	}
	if len(q.Terms.MustNot) > 0 {
		mustNot := make([]any, 0, len(q.Terms.MustNot))
		for _, c := range q.Terms.MustNot {
			mustNot = append(mustNot, clause(c, "none"))
		}
		boolQuery["must_not"] = mustNot
	}

	body := map[string]any{
		"size":             size,
		"track_total_hits": true,
		"_source":          []string{"message_id", "thread_id", "sent_at"},
		"query":            map[string]any{"bool": boolQuery},
	}
	desc := map[string]any{"order": "desc"}
	switch q.Sort {
	case search.SortRelevance:
		body["sort"] = []any{
			map[string]any{"_score": desc},
			map[string]any{"sent_at": desc},
			map[string]any{"message_id": desc},
		}
		if q.After != nil {
			body["search_after"] = []any{q.After.Score, q.After.SentAt.UnixMilli(), q.After.MessageID}
		}
	case search.SortNewest:
		body["sort"] = []any{
			map[string]any{"sent_at": desc},
			map[string]any{"message_id": desc},
		}
		if q.After != nil {
			body["search_after"] = []any{q.After.SentAt.UnixMilli(), q.After.MessageID}
		}
	default:
		return nil, fmt.Errorf("elasticsearch search: unknown sort %d", q.Sort)
	}
	if len(q.Terms.Must) > 0 {
		body["highlight"] = map[string]any{
			"pre_tags":  []string{"<mark>"},
			"post_tags": []string{"</mark>"},
			"encoder":   "html",
			"fields": map[string]any{
				"text": map[string]any{"number_of_fragments": 3, "fragment_size": 150},
			},
		}
	}
	return json.Marshal(body)
}

func term(field, value string) map[string]any {
	return map[string]any{"term": map[string]any{field: value}}
}

// clause is the query of one Word, Phrase or Prefix; zeroTerms says what it matches when the
// analyzer leaves no term of it.
func clause(c search.Clause, zeroTerms string) map[string]any {
	switch c.Kind {
	case search.Phrase:
		return map[string]any{"match_phrase": map[string]any{
			"text": map[string]any{"query": c.Text, "zero_terms_query": zeroTerms},
		}}
	case search.Prefix:
		return map[string]any{"multi_match": map[string]any{
			"query":            c.Text,
			"type":             "bool_prefix",
			"fields":           searchFields,
			"operator":         "and",
			"zero_terms_query": zeroTerms,
		}}
	default: // search.Word
		return map[string]any{"multi_match": map[string]any{
			"query":            c.Text,
			"type":             "best_fields",
			"fields":           searchFields,
			"operator":         "and",
			"zero_terms_query": zeroTerms,
		}}
	}
}

// formatMillis renders t as the date field stores it, to the millisecond, in UTC.
func formatMillis(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

type searchResponse struct {
	TimedOut bool `json:"timed_out"`
	Shards   struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Failed     int `json:"failed"`
	} `json:"_shards"`
	Hits struct {
		Total *struct {
			Value    int64  `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
		Hits []struct {
			ID        string              `json:"_id"`
			Score     *float64            `json:"_score"`
			Source    source              `json:"_source"`
			Highlight map[string][]string `json:"highlight"`
			Sort      []json.RawMessage   `json:"sort"`
		} `json:"hits"`
	} `json:"hits"`
}

// parseSearchResponse reads a _search answer into a page.
func parseSearchResponse(body []byte) (search.Result, error) {
	var res searchResponse
	if err := json.Unmarshal(body, &res); err != nil {
		return search.Result{}, fmt.Errorf("elasticsearch search: decode answer: %w", err)
	}
	if res.TimedOut || res.Shards.Failed > 0 {
		// allow_partial_search_results=false should prevent this; a partial page would skip hits.
		return search.Result{}, fmt.Errorf("elasticsearch search: partial results (%d of %d shards failed, timed out: %t)",
			res.Shards.Failed, res.Shards.Total, res.TimedOut)
	}
	if res.Hits.Total == nil || res.Hits.Total.Relation != "eq" {
		return search.Result{}, errors.New("elasticsearch search: the answer has no exact total")
	}
	out := search.Result{Total: res.Hits.Total.Value, Hits: make([]search.Hit, 0, len(res.Hits.Hits))}
	for _, h := range res.Hits.Hits {
		hit := search.Hit{
			MessageID:  h.Source.MessageID,
			ThreadID:   h.Source.ThreadID,
			Highlights: h.Highlight["text"],
		}
		if h.Score != nil {
			hit.Score = *h.Score
		}
		if t, err := time.Parse(time.RFC3339Nano, h.Source.SentAt); err == nil {
			hit.SentAt = t
		} else if t, ok := sortedSentAt(h.Sort); ok {
			hit.SentAt = t
		} else {
			return search.Result{}, fmt.Errorf("elasticsearch search: hit %s has no sent_at", h.ID)
		}
		if hit.MessageID == "" {
			return search.Result{}, fmt.Errorf("elasticsearch search: hit %s has no message_id", h.ID)
		}
		out.Hits = append(out.Hits, hit)
	}
	return out, nil
}

// sortedSentAt reads sent_at from a hit's sort values: the epoch milliseconds just before the
// message id, whichever sort was used.
func sortedSentAt(sortValues []json.RawMessage) (time.Time, bool) {
	if len(sortValues) < 2 {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(string(sortValues[len(sortValues)-2]), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}
