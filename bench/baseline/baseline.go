// Package baseline measures what Switchboard's figures are compared with in the same run: raw
// inserts of the same rows into SQLite and PostgreSQL, a Connect handler that does nothing,
// and PostgreSQL full-text search over the same messages.
package baseline

import "time"

// Row is one message as the benchmark generated it, flattened.
type Row struct {
	ID                string // msg_…
	TeamID            string
	ThreadID          string
	ProspectID        string
	AccountLinkID     string
	PlatformMessageID string
	Outbound          bool
	Text              string
	SentAt            time.Time
}
