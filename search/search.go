// Package search is the port of the message search index and the rules written once above
// its adapters: what a document holds (from events), how a user's query is parsed, how paging
// cursors work. Adapters: adapters/sqlitefts (embedded, SQLite FTS5) and adapters/elasticsearch (at scale).
// Every adapter passes the one behaviour suite, run through the real server
// (server/search_component_test.go).
package search

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// Doc is one message as the index holds it. A team only ever finds its own documents.
type Doc struct {
	TeamID           string
	MessageID        string
	ThreadID         string
	ProspectID       string
	AccountLinkID    string
	Platform         string // domain.Platform name, e.g. "messenger"
	Direction        string // "inbound" or "outbound"
	Text             string
	AttachmentNames  []string
	AttachmentTypes  []string
	ProspectName     string
	ProspectUsername string
	SentAt           time.Time
}

// Sort orders hits.
type Sort int

const (
	// SortRelevance: best score first, then newest, then message id.
	SortRelevance Sort = iota
	// SortNewest: newest sent_at first, then message id.
	SortNewest
)

// Query is a validated, parsed search. Filters left zero mean "any".
type Query struct {
	TeamID        string
	Terms         Terms
	Platform      string
	AccountLinkID string
	ThreadID      string
	ProspectID    string
	Direction     string
	From, To      time.Time // From inclusive, To exclusive
	Sort          Sort
	Size          int
	// After resumes after the last hit of the previous page (its sort values).
	After *After
}

// After is the position of a hit in the sort order: adapters page with it (the SQLite index's
// keys, Elasticsearch search_after), never with offsets, so a page never repeats or skips a hit.
type After struct {
	Score     float64
	SentAt    time.Time
	MessageID string
}

// Hit is one matching message.
type Hit struct {
	MessageID  string
	ThreadID   string
	Score      float64
	SentAt     time.Time
	Highlights []string // fragments of the text with matches wrapped in <mark>…</mark>
}

// Result is one page.
type Result struct {
	Hits  []Hit
	Total int64 // every match, not just this page
}

// Index is the search index port.
type Index interface {
	// Put indexes (or replaces) documents.
	Put(ctx context.Context, docs []Doc) error
	// Get returns a document, to update it on an edit.
	Get(ctx context.Context, teamID, messageID string) (Doc, bool, error)
	// Delete removes documents: a deleted message is never found again.
	Delete(ctx context.Context, teamID string, messageIDs []string) error
	// Search runs a query.
	Search(ctx context.Context, q Query) (Result, error)
	// Checkpoint and SetCheckpoint keep the projection's position in the index itself, so an
	// index that is dropped starts again from the beginning of the log.
	Checkpoint(ctx context.Context) (eventlog.Cursor, error)
	SetCheckpoint(ctx context.Context, c eventlog.Cursor) error
	Ping(ctx context.Context) error
	Close() error
}
