package projections

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// Page sizes of every list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// pageToken is the opaque cursor of a list: where the last page ended, bound to its filters.
type pageToken struct {
	Filters string `json:"f"`
	At      int64  `json:"t"`
	ID      string `json:"i"`
}

func filtersDigest(filters any) string {
	b, _ := json.Marshal(filters)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// pageSize validates a requested page size: 0 means the default, more than the max is capped.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, domain.Invalid("page_size", "must not be negative")
	case n == 0:
		return DefaultPageSize, nil
	case n > MaxPageSize:
		return MaxPageSize, nil
	}
	return int(n), nil
}

// decodeToken returns where to resume, refusing a token made for other filters.
func decodeToken(token string, filters any) (*SortKey, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var t pageToken
	if err != nil || json.Unmarshal(b, &t) != nil || t.ID == "" {
		return nil, domain.Invalid("page_token", "is malformed")
	}
	if t.Filters != filtersDigest(filters) {
		return nil, domain.Invalid("page_token", "was issued for different filters; start again without it")
	}
	return &SortKey{At: time.Unix(0, t.At).UTC(), ID: t.ID}, nil
}

func encodeToken(filters any, k SortKey) string {
	b, _ := json.Marshal(pageToken{Filters: filtersDigest(filters), At: k.At.UnixNano(), ID: k.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// page runs a keyset query for one page plus one row, to know whether another page follows.
func page[T any](ctx context.Context, filters any, size int32, token string, key func(T) SortKey,
	query func(after *SortKey, limit int) ([]T, error)) ([]T, string, error) {
	n, err := pageSize(size)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeToken(token, filters)
	if err != nil {
		return nil, "", err
	}
	rows, err := query(after, n+1)
	if err != nil {
		return nil, "", domain.Unavailable("the read model", err)
	}
	if len(rows) <= n {
		return rows, "", nil
	}
	rows = rows[:n]
	return rows, encodeToken(filters, key(rows[n-1])), nil
}

// ThreadReader is what ListThreads reads.
type ThreadReader interface {
	Threads(ctx context.Context, q ThreadQuery) ([]Thread, error)
}

// ListThreads returns one page of a thread query (q.After and q.Limit are set from the token
// and size) and the token of the next page ("" on the last).
func ListThreads(ctx context.Context, r ThreadReader, q ThreadQuery, size int32, token string) ([]Thread, string, error) {
	filters := q
	filters.After, filters.Limit = nil, 0
	return page(ctx, filters, size, token, func(t Thread) SortKey { return SortKey{t.LastMessageAt, t.ID} },
		func(after *SortKey, limit int) ([]Thread, error) {
			q.After, q.Limit = after, limit
			return r.Threads(ctx, q)
		})
}

// MessageReader is what ListMessages reads.
type MessageReader interface {
	Messages(ctx context.Context, q MessageQuery) ([]Message, error)
}

// ListMessages returns one page of a thread's messages, newest first.
func ListMessages(ctx context.Context, r MessageReader, q MessageQuery, size int32, token string) ([]Message, string, error) {
	filters := q
	filters.After, filters.Limit = nil, 0
	return page(ctx, filters, size, token, func(m Message) SortKey { return SortKey{m.SentAt, m.ID} },
		func(after *SortKey, limit int) ([]Message, error) {
			q.After, q.Limit = after, limit
			return r.Messages(ctx, q)
		})
}

// ProspectReader is what ListProspects reads.
type ProspectReader interface {
	Prospects(ctx context.Context, q ProspectQuery) ([]Prospect, error)
}

// ListProspects returns one page of prospects, most recently seen first.
func ListProspects(ctx context.Context, r ProspectReader, q ProspectQuery, size int32, token string) ([]Prospect, string, error) {
	filters := q
	filters.After, filters.Limit = nil, 0
	return page(ctx, filters, size, token, func(p Prospect) SortKey { return SortKey{p.LastSeenAt, p.ID} },
		func(after *SortKey, limit int) ([]Prospect, error) {
			q.After, q.Limit = after, limit
			return r.Prospects(ctx, q)
		})
}
