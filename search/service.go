package search

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// Page sizes of a search.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Request is a search as a client asks for it, before validation. Zero fields mean "any".
type Request struct {
	Query         string
	Platform      string // domain.Platform name
	AccountLinkID string
	ThreadID      string
	ProspectID    string
	Direction     string // "inbound" or "outbound"
	From, To      time.Time
	Sort          string // "", "relevance" or "newest"
	PageSize      int32
	PageToken     string
}

// Search validates a request, runs it on the team's messages and returns one page and the
// token of the next one ("" on the last). It is the query side of every adapter: validation,
// parsing and paging are written once here.
func Search(ctx context.Context, idx Index, teamID string, r Request) (Result, string, error) {
	q, err := build(teamID, r)
	if err != nil {
		return Result{}, "", err
	}
	filters := binding(teamID, r)
	if q.After, err = decodeToken(r.PageToken, filters, q.Sort); err != nil {
		return Result{}, "", err
	}
	size := q.Size
	q.Size = size + 1 // one more, to know whether another page follows
	res, err := idx.Search(ctx, q)
	if err != nil {
		if domain.KindOf(err) != domain.KindInternal || ctx.Err() != nil {
			return Result{}, "", err
		}
		return Result{}, "", domain.Unavailable("the search index", err)
	}
	if len(res.Hits) <= size {
		return res, "", nil
	}
	res.Hits = res.Hits[:size]
	last := res.Hits[size-1]
	return res, encodeToken(filters, After{Score: last.Score, SentAt: last.SentAt, MessageID: last.MessageID}), nil
}

// build validates a request into a Query (without After).
func build(teamID string, r Request) (Query, error) {
	q := Query{TeamID: teamID, AccountLinkID: r.AccountLinkID, ThreadID: r.ThreadID, ProspectID: r.ProspectID,
		From: r.From, To: r.To}
	for _, c := range []struct{ field, id, prefix string }{
		{"account_link_id", r.AccountLinkID, domain.PrefixAccount},
		{"thread_id", r.ThreadID, domain.PrefixThread},
		{"prospect_id", r.ProspectID, domain.PrefixProspect},
	} {
		if err := domain.CheckID(c.field, c.id, c.prefix); err != nil {
			return q, err
		}
	}
	if r.Platform != "" {
		p, err := domain.ParsePlatform(r.Platform)
		if err != nil {
			return q, domain.Invalid("platform", "unknown platform %q", r.Platform)
		}
		q.Platform = p.String()
	}
	if r.Direction != "" {
		d, err := domain.ParseDirection(r.Direction)
		if err != nil {
			return q, domain.Invalid("direction", "must be inbound or outbound")
		}
		q.Direction = d.String()
	}
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return q, domain.Invalid("from", "must be before to")
	}
	switch r.Sort {
	case "", "relevance":
		q.Sort = SortRelevance
	case "newest":
		q.Sort = SortNewest
	default:
		return q, domain.Invalid("sort", "must be relevance or newest")
	}
	switch {
	case r.PageSize < 0:
		return q, domain.Invalid("page_size", "must not be negative")
	case r.PageSize == 0:
		q.Size = DefaultPageSize
	case r.PageSize > MaxPageSize:
		q.Size = MaxPageSize
	default:
		q.Size = int(r.PageSize)
	}
	var err error
	q.Terms, err = ParseQuery(r.Query)
	return q, err
}

// binding is what a page token is bound to: the team, the query, the filters and the sort.
// The page size may change from page to page.
func binding(teamID string, r Request) string {
	if r.Sort == "" {
		r.Sort = "relevance"
	}
	r.PageSize, r.PageToken = 0, ""
	b, _ := json.Marshal(struct {
		Team string
		Request
	}{teamID, r})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// pageToken is the opaque cursor of a search: the sort values of the last hit of the page.
type pageToken struct {
	Filters string  `json:"f"`
	Score   float64 `json:"s,omitempty"`
	At      int64   `json:"t"`
	ID      string  `json:"i"`
}

func encodeToken(filters string, a After) string {
	b, _ := json.Marshal(pageToken{Filters: filters, Score: a.Score, At: a.SentAt.UnixNano(), ID: a.MessageID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken returns where to resume, refusing a token made for another search.
func decodeToken(token, filters string, sort Sort) (*After, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var t pageToken
	if err != nil || json.Unmarshal(b, &t) != nil || t.ID == "" {
		return nil, domain.Invalid("page_token", "is malformed")
	}
	if t.Filters != filters {
		return nil, domain.Invalid("page_token", "was issued for another query, filters or sort; start again without it")
	}
	a := &After{SentAt: time.Unix(0, t.At).UTC(), MessageID: t.ID}
	if sort == SortRelevance {
		a.Score = t.Score
	}
	return a, nil
}
