package bleve

import (
	"context"
	"math"
	"time"

	"github.com/blevesearch/bleve/v2/mapping"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/switchboard-oss/switchboard/search"
)

// toQuery turns a parsed search into Bleve's: the team and the filters select without scoring,
// every Must clause matches (in any searched field), no MustNot clause does.
func toQuery(m mapping.IndexMapping, q search.Query) query.Query {
	var must, not []query.Query
	for _, c := range q.Terms.Must {
		if cq := clause(m, c); cq != nil {
			must = append(must, cq)
		}
	}
	for _, c := range q.Terms.MustNot {
		if cq := clause(m, c); cq != nil {
			not = append(not, cq)
		}
	}
	b := &query.BooleanQuery{Filter: filters(q)}
	if len(must) > 0 {
		b.Must = corpusFreeQuery{query.NewConjunctionQuery(must)}
	}
	if len(not) > 0 {
		b.MustNot = query.NewDisjunctionQuery(not)
	}
	return query.NewCustomScoreQueryWithScorer(b, func(_ context.Context, d *bsearch.DocumentMatch) (float64, error) {
		return round(d.Score), nil
	}, nil, nil)
}

// filters are the team and the request's filters.
func filters(q search.Query) query.Query {
	term := func(field, value string) query.Query {
		t := query.NewTermQuery(value)
		t.SetField(field)
		return t
	}
	fs := []query.Query{term(fTeam, q.TeamID)}
	for _, f := range []struct{ field, value string }{
		{fPlatform, q.Platform}, {fAccount, q.AccountLinkID}, {fThread, q.ThreadID},
		{fProspect, q.ProspectID}, {fDirection, q.Direction},
	} {
		if f.value != "" {
			fs = append(fs, term(f.field, f.value))
		}
	}
	from, to := clampTime(q.From), clampTime(q.To)
	if !from.IsZero() || !to.IsZero() {
		incl, excl := true, false
		r := query.NewDateRangeInclusiveQuery(from, to, &incl, &excl)
		r.SetField(fSentAt)
		fs = append(fs, r)
	}
	return query.NewConjunctionQuery(fs)
}

// clause matches one word, phrase or prefix in any searched field. Each field analyzes the
// clause as it analyzed its text. A clause with nothing searchable in it (punctuation alone)
// is left out rather than matching nothing.
func clause(m mapping.IndexMapping, c search.Clause) query.Query {
	var alts []query.Query
	for _, s := range searched {
		tokens := m.AnalyzerNamed(s.analyzer).Analyze([]byte(c.Text))
		if len(tokens) == 0 {
			continue
		}
		var fq query.Query
		switch {
		case c.Kind == search.Prefix:
			// The last word is the prefix; words before it ("e-ma*") must be there too.
			parts := make([]query.Query, 0, len(tokens))
			for _, t := range tokens[:len(tokens)-1] {
				tq := query.NewTermQuery(string(t.Term))
				tq.SetField(s.field)
				parts = append(parts, tq)
			}
			pq := query.NewPrefixQuery(string(tokens[len(tokens)-1].Term))
			pq.SetField(s.field)
			fq = pq
			if len(parts) > 0 {
				fq = query.NewConjunctionQuery(append(parts, pq))
			}
		case len(tokens) == 1:
			tq := query.NewTermQuery(string(tokens[0].Term))
			tq.SetField(s.field)
			fq = tq
		default:
			// A phrase, or one typed word that is several tokens ("e-mail", "東京大学"):
			// its tokens in order, side by side.
			pq := query.NewMatchPhraseQuery(c.Text)
			pq.SetField(s.field)
			pq.Analyzer = s.analyzer
			fq = pq
		}
		alts = append(alts, fq)
	}
	switch len(alts) {
	case 0:
		return nil
	case 1:
		return alts[0]
	}
	return query.NewDisjunctionQuery(alts)
}

// Bleve's date fields hold nanoseconds since 1970 in an int64: years 1678 to 2261.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2261, 12, 31, 0, 0, 0, 0, time.UTC)
)

// clampTime keeps a bound inside what the index can compare; beyond it, it bounds nothing.
func clampTime(t time.Time) time.Time {
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}
	}
	return t
}

// round drops the last bits of a score, so the same document and query always score the same,
// even when floating-point sums run in another order: a page cursor then finds its hit again.
func round(s float64) float64 {
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return s
	}
	return math.Round(s*1e9) / 1e9
}

// corpusFreeQuery scores its query as if the index held only the scored document: inverse
// document frequencies are all 1, so a hit's score depends on the hit and the query alone
// (term frequencies, field lengths, which clauses match), never on how many other messages
// hold the words. Scores then stay put while messages arrive, and a relevance page cursor
// (score, sent_at, id) never repeats or skips a hit. The price: a rare word weighs no more
// than a common one, which matters little when every word must match anyway.
type corpusFreeQuery struct{ query.Query }

func (q corpusFreeQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, o bsearch.SearcherOptions) (bsearch.Searcher, error) {
	return q.Query.Searcher(ctx, corpusFreeReader{i}, m, o)
}

// corpusFreeReader reports a one-document index whose terms are in no other document: the
// statistics term scorers read (idf = 1 + ln(docs / (1 + docs with the term)) = 1).
type corpusFreeReader struct{ index.IndexReader }

func (corpusFreeReader) DocCount() (uint64, error) { return 1, nil }

func (r corpusFreeReader) TermFieldReader(ctx context.Context, term []byte, field string, freq, norm, vectors bool) (index.TermFieldReader, error) {
	tfr, err := r.IndexReader.TermFieldReader(ctx, term, field, freq, norm, vectors)
	if err != nil {
		return nil, err
	}
	return corpusFreeTerms{tfr}, nil
}

type corpusFreeTerms struct{ index.TermFieldReader }

func (corpusFreeTerms) Count() uint64 { return 0 }
