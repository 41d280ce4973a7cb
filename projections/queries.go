package projections

import (
	"fmt"
	"strings"
	"time"
)

// View is a slice of the inbox.
type View int

const (
	ViewInbox View = iota
	ViewNoReply
	ViewRequests
	ViewArchived
	ViewAll
)

// ThreadQuery selects threads. The zero value of a filter means "any".
type ThreadQuery struct {
	TeamID           string
	View             View
	AccountLinkID    string
	Platform         string
	AssigneeMemberID string
	Unassigned       bool
	TagID            string
	StatusID         string
	ProspectID       string
	// IDs, when set, keeps only these threads (at most 500): which of them a view holds.
	IDs   []string `json:",omitempty"`
	After *SortKey
	Limit int
}

// Dialect adapts the shared SQL to an engine.
type Dialect struct {
	// Placeholder renders the n-th (1-based) parameter: "?" or "$n".
	Placeholder func(n int) string
	// Time converts a time to the engine's stored form.
	Time func(t time.Time) any
	// Unindexed, if set, renders a column so the engine checks it per row rather than search
	// an index by it: a view's columns when a more selective filter (the status) has its own
	// index, which an engine without statistics (SQLite) would otherwise pass over for the
	// view's index with more equalities.
	Unindexed func(col string) string
}

// sqlBuilder accumulates a WHERE clause and its arguments.
type sqlBuilder struct {
	d     Dialect
	conds []string
	args  []any
}

func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

func (b *sqlBuilder) where(format string, vals ...any) {
	ph := make([]any, len(vals))
	for i, v := range vals {
		ph[i] = b.arg(v)
	}
	b.conds = append(b.conds, fmt.Sprintf(format, ph...))
}

// Source returns what a thread query reads (its FROM clause) and the alias of the table whose
// (last_message_at, id) orders the pages. It is threads t, except with a tag filter: the
// tag's rows of thread_tags k (one per thread of a prospect with that tag, with the thread's
// order and view columns, which the stores keep as threads and tags change) joined to their
// threads t, so a page walks the tag's threads in order instead of the view's, checking the
// tag of each (a tag holds a few percent of the threads: thousands read per page). CROSS
// JOIN with the join condition in the WHERE is valid on every engine and makes SQLite, which
// has no statistics, read k first.
func (q ThreadQuery) Source() (from, sort string) {
	if q.TagID != "" {
		return "thread_tags k CROSS JOIN threads t", "k"
	}
	return "threads t", "t"
}

// Where returns the WHERE clause (without the keyword) and its arguments for a thread query
// over Source. It is the single definition of what each view and filter means.
func (q ThreadQuery) Where(d Dialect) (string, []any) {
	b := &sqlBuilder{d: d}
	_, s := q.Source()
	if q.TagID != "" {
		b.where("k.team_id = %s AND k.tag_id = %s AND t.team_id = k.team_id AND t.id = k.id", q.TeamID, q.TagID)
		// A deleted tag's links are gone, but a late event may tag a prospect with it again.
		b.where("EXISTS (SELECT 1 FROM tags g WHERE g.team_id = %s AND g.id = %s)", q.TeamID, q.TagID)
	} else {
		b.where("t.team_id = %s", q.TeamID)
	}
	// The view's columns are read from the table that orders the page (thread_tags has them).
	col := func(c string) string { return s + "." + c }
	if q.StatusID != "" && d.Unindexed != nil {
		col = func(c string) string { return d.Unindexed(s + "." + c) }
	}
	switch q.View {
	case ViewInbox:
		b.where(col("done")+" = %s AND "+col("request")+" = %s", false, false)
	case ViewNoReply:
		b.where(col("done")+" = %s AND "+col("last_message_direction")+" = %s", false, "outbound")
	case ViewRequests:
		b.where(col("done")+" = %s AND "+col("request")+" = %s", false, true)
	case ViewArchived:
		b.where(col("done")+" = %s", true)
	case ViewAll:
	}
	if q.AccountLinkID != "" {
		b.where("t.account_link_id = %s", q.AccountLinkID)
	}
	if q.Platform != "" {
		b.where("t.platform = %s", q.Platform)
	}
	if q.Unassigned {
		b.where("t.assignee_member_id = %s", "")
	} else if q.AssigneeMemberID != "" {
		b.where("t.assignee_member_id = %s", q.AssigneeMemberID)
	}
	if q.ProspectID != "" {
		b.where("t.prospect_id = %s", q.ProspectID)
	}
	if len(q.IDs) > 0 {
		ph := make([]string, len(q.IDs))
		for i, id := range q.IDs {
			ph[i] = b.arg(id)
		}
		b.conds = append(b.conds, "t.id IN ("+strings.Join(ph, ", ")+")")
	}
	if q.StatusID != "" {
		// The prospect's status, kept on each of its threads by the store (prospect_status_id:
		// '' when the prospect has none or does not exist), so the filter reads an index of
		// threads in page order instead of joining prospects row by row.
		b.where("t.prospect_status_id = %s", q.StatusID)
	}
	if q.After != nil {
		at := d.Time(q.After.At)
		b.where("("+s+".last_message_at < %s OR ("+s+".last_message_at = %s AND "+s+".id < %s))", at, at, q.After.ID)
	}
	return strings.Join(b.conds, " AND "), b.args
}

// ProspectQuery selects prospects.
type ProspectQuery struct {
	TeamID   string
	Platform string
	TagID    string
	StatusID string
	After    *SortKey
	Limit    int
}

// Where returns the WHERE clause for a prospect query over table prospects aliased p.
func (q ProspectQuery) Where(d Dialect) (string, []any) {
	b := &sqlBuilder{d: d}
	b.where("p.team_id = %s", q.TeamID)
	if q.Platform != "" {
		b.where("p.platform = %s", q.Platform)
	}
	if q.StatusID != "" {
		b.where("p.status_id = %s", q.StatusID)
	}
	if q.TagID != "" {
		b.where("EXISTS (SELECT 1 FROM prospect_tags pt JOIN tags g ON g.team_id = pt.team_id AND g.id = pt.tag_id"+
			" WHERE pt.team_id = p.team_id AND pt.prospect_id = p.id AND pt.tag_id = %s)", q.TagID)
	}
	if q.After != nil {
		at := d.Time(q.After.At)
		b.where("(p.last_seen_at < %s OR (p.last_seen_at = %s AND p.id < %s))", at, at, q.After.ID)
	}
	return strings.Join(b.conds, " AND "), b.args
}

// MessageQuery selects a thread's messages.
type MessageQuery struct {
	TeamID, ThreadID string
	After            *SortKey
	Limit            int
}

// Where returns the WHERE clause for a message query over table messages aliased m.
func (q MessageQuery) Where(d Dialect) (string, []any) {
	b := &sqlBuilder{d: d}
	b.where("m.team_id = %s AND m.thread_id = %s", q.TeamID, q.ThreadID)
	if q.After != nil {
		at := d.Time(q.After.At)
		b.where("(m.sent_at < %s OR (m.sent_at = %s AND m.id < %s))", at, at, q.After.ID)
	}
	return strings.Join(b.conds, " AND "), b.args
}
