package sqlitefts

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/switchboard-oss/switchboard/search"
)

// clauseTerms is one clause of a query, analyzed: its terms for the text and name columns, and
// for the names column (which also cuts at punctuation).
type clauseTerms struct {
	kind        search.ClauseKind
	text, names []string
}

func analyzeClause(c search.Clause) (clauseTerms, bool) {
	ct := clauseTerms{kind: c.Kind}
	for _, t := range analyze(c.Text, false) {
		ct.text = append(ct.text, t.term)
	}
	for _, t := range analyze(c.Text, true) {
		ct.names = append(ct.names, t.term)
	}
	// A clause with nothing searchable in it (punctuation alone) is left out rather than
	// matching nothing.
	return ct, len(ct.text) > 0 || len(ct.names) > 0
}

// quote makes a term an FTS5 string: whatever the user typed is text, never FTS5 syntax.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// phrase is the FTS5 phrase of a clause's terms in a column set, as the team's terms (code);
// a prefix clause's last term is a prefix.
func phrase(code, cols string, kind search.ClauseKind, ts []string) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = quote(scopeTerm(code, t))
	}
	p := strings.Join(parts, " + ")
	if kind == search.Prefix {
		p += " *"
	}
	return cols + " : (" + p + ")"
}

// match is the FTS5 query of a clause, among the terms of the team whose code is code: in the
// text and name columns, or in the names column.
func (c clauseTerms) match(code string) string {
	if slices.Equal(c.text, c.names) { // the same terms either way: one phrase, walked once
		return phrase(code, "{t_text t_name t_names}", c.kind, c.text)
	}
	var alts []string
	if len(c.text) > 0 {
		alts = append(alts, phrase(code, "{t_text t_name}", c.kind, c.text))
	}
	if len(c.names) > 0 {
		alts = append(alts, phrase(code, "{t_names}", c.kind, c.names))
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

// plan is a query turned into FTS5: the MATCH expression and the rowid bounds.
type plan struct {
	match  string
	must   []clauseTerms
	lo, hi int64 // lo <= rowid < hi
}

// planOf plans q for the team whose code is code. Words, phrases, prefixes and filters match
// the team's terms alone; a query with none of them (exclusions alone) selects the team by its
// tag.
func planOf(q search.Query, code string) plan {
	var tags []string
	for _, f := range []struct{ kind, value string }{
		{"pl", q.Platform}, {"ac", q.AccountLinkID}, {"th", q.ThreadID}, {"pr", q.ProspectID}, {"di", q.Direction},
	} {
		if f.value != "" {
			tags = append(tags, "tags : "+quote(scopeTerm(code, tag(f.kind, f.value))))
		}
	}
	p := plan{lo: math.MinInt64, hi: math.MaxInt64}
	var parts []string
	for _, c := range q.Terms.Must {
		if ct, ok := analyzeClause(c); ok {
			p.must = append(p.must, ct)
			parts = append(parts, ct.match(code))
		}
	}
	if len(parts) == 0 && len(tags) == 0 {
		parts = []string{"tags : " + quote(scopeTerm(code, tag("te", q.TeamID)))}
	}
	p.match = "(" + strings.Join(append(parts, tags...), " AND ") + ")"
	for _, c := range q.Terms.MustNot {
		if ct, ok := analyzeClause(c); ok {
			p.match += " NOT " + ct.match(code)
		}
	}
	if !q.From.IsZero() {
		p.lo = rowCeil(q.From)
	}
	if !q.To.IsZero() {
		p.hi = rowCeil(q.To)
	}
	return p
}

// where is the plan's FTS5 condition, with its arguments.
func (p plan) where(hi int64) (string, []any) {
	w := `fts MATCH ?`
	args := []any{p.match}
	if p.lo != math.MinInt64 {
		w += ` AND fts.rowid >= ?`
		args = append(args, p.lo)
	}
	if hi != math.MaxInt64 {
		w += ` AND fts.rowid < ?`
		args = append(args, hi)
	}
	return w, args
}

// The statements of a search, on a plan's condition. Each walks fts alone, in key order (FTS5
// consumes ORDER BY rowid and the key bounds: no sort, no scan outside the range), and reads
// docs by key (see TestQueryPlans).
func countSQL(where string) string { return `SELECT count(*) FROM fts WHERE ` + where }

func pageSQL(where string) string {
	return `SELECT fts.rowid FROM fts WHERE ` + where + ` ORDER BY fts.rowid DESC LIMIT ?`
}

func rankSQL(where string) string {
	return `SELECT d.id, d.t_text, d.t_name, d.t_names FROM fts CROSS JOIN docs d ON d.id = fts.rowid WHERE ` +
		where + ` ORDER BY fts.rowid DESC LIMIT ?`
}

// Search runs a query: the team and the filters select, the words, phrases and prefixes match
// and score.
func (x *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	res, err := x.search(ctx, q)
	return res, fault(err)
}

func (x *Index) search(ctx context.Context, q search.Query) (search.Result, error) {
	size := q.Size
	if size <= 0 {
		size = search.DefaultPageSize
	}
	conn, err := x.r.Conn(ctx) // one snapshot for the count and the page
	if err != nil {
		return search.Result{}, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return search.Result{}, err
	}
	defer func() { _ = tx.Rollback() }()
	code, ok, err := x.codeOf(ctx, tx, q.TeamID)
	if err != nil {
		return search.Result{}, err
	}
	p := planOf(q, code)
	if !ok || p.lo >= p.hi { // a team without documents, an empty range
		return search.Result{Hits: []search.Hit{}}, nil
	}

	var out search.Result
	w, args := p.where(p.hi)
	if err := tx.QueryRowContext(ctx, countSQL(w), args...).Scan(&out.Total); err != nil {
		return search.Result{}, err
	}
	var after int64 = math.MaxInt64 // the cursor's key
	if a := q.After; a != nil {
		if after, err = keyOf(ctx, tx, q.TeamID, a); err != nil {
			return search.Result{}, err
		}
	}
	var page []scored
	if q.Sort == search.SortNewest || len(p.must) == 0 {
		// Newest, or relevance without words (every score is 0): the walk in key order.
		w, args := p.where(min(p.hi, after))
		rows, err := tx.QueryContext(ctx, pageSQL(w), append(args, size)...)
		if err != nil {
			return search.Result{}, err
		}
		for rows.Next() {
			var s scored
			if err := rows.Scan(&s.id); err != nil {
				rows.Close()
				return search.Result{}, err
			}
			page = append(page, s)
		}
		if err := rows.Close(); err != nil {
			return search.Result{}, err
		}
	} else {
		if page, err = x.rank(ctx, tx, p, q.After, after, size); err != nil {
			return search.Result{}, err
		}
	}
	out.Hits = make([]search.Hit, 0, len(page))
	if len(page) == 0 {
		return out, nil
	}
	// The page's documents in one statement.
	ids := make([]any, len(page))
	for i, s := range page {
		ids[i] = s.id
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, doc FROM docs WHERE id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`)`, ids...)
	if err != nil {
		return search.Result{}, err
	}
	docs := make(map[int64]search.Doc, len(page))
	for rows.Next() {
		var id int64
		var raw sql.RawBytes
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return search.Result{}, err
		}
		var d search.Doc
		if err := json.Unmarshal(raw, &d); err != nil {
			rows.Close()
			return search.Result{}, fmt.Errorf("stored search document %d: %w", id, err)
		}
		docs[id] = d
	}
	if err := rows.Close(); err != nil {
		return search.Result{}, err
	}
	for _, s := range page {
		d, ok := docs[s.id]
		if !ok {
			return search.Result{}, fmt.Errorf("stored search document %d: missing", s.id)
		}
		out.Hits = append(out.Hits, search.Hit{MessageID: d.MessageID, ThreadID: d.ThreadID, Score: s.score, SentAt: d.SentAt,
			Highlights: highlights(d.Text, p.must)})
	}
	return out, nil
}

// keyOf is the key of a page cursor's hit: the key of its document when it is still there with
// the same sent_at, else the first key after its microsecond.
func keyOf(ctx context.Context, tx *sql.Tx, teamID string, a *search.After) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM docs WHERE team_id = ? AND message_id = ?`, teamID, a.MessageID).Scan(&id)
	switch {
	case err == nil && id/slots == rowBase(a.SentAt)/slots:
		return id, nil
	case err == nil, errors.Is(err, sql.ErrNoRows):
		return rowBase(a.SentAt) + slots, nil
	}
	return 0, err
}

type scored struct {
	id    int64
	score float64
}

// rank scores the newest candidates that match and returns the page after the cursor: best
// score first, then newest.
func (x *Index) rank(ctx context.Context, tx *sql.Tx, p plan, a *search.After, after int64, size int) ([]scored, error) {
	w, args := p.where(p.hi)
	rows, err := tx.QueryContext(ctx, rankSQL(w), append(args, x.candidates)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	all := make([]scored, 0, min(x.candidates, 256))
	var text, name, names sql.RawBytes // the driver's bytes, valid until the next row: no copies
	for rows.Next() {
		var s scored
		if err := rows.Scan(&s.id, &text, &name, &names); err != nil {
			return nil, err
		}
		s.score = score(p.must, view(text), view(name), view(names))
		if a != nil && !(s.score < a.Score || s.score == a.Score && s.id < after) {
			continue // on an earlier page
		}
		all = append(all, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	return all[:min(size, len(all))], nil
}

// view reads bytes as a string without copying them; the string must not outlive the bytes
// (score keeps nothing).
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// score is how well a document matches: for each word, phrase or prefix, in each column, the
// square root of how often it occurs over the square root of the column's length (more
// occurrences, in fewer words, score higher). It depends on the document and the query only:
// no statistic of other documents, so a score never changes while messages arrive, and a
// relevance page cursor (score, key) finds its place again.
func score(must []clauseTerms, text, name, names string) float64 {
	cols := [3]string{text, name, names}
	var fields [3][]string // cut only for phrases
	var s float64
	for _, c := range must {
		for i, col := range cols {
			ts := c.text
			if i == 2 {
				ts = c.names
			}
			if col == "" || len(ts) == 0 {
				continue
			}
			var n, length int
			if len(ts) == 1 {
				n, length = count(col, ts[0], c.kind == search.Prefix)
			} else {
				if fields[i] == nil {
					fields[i] = strings.Fields(col)
				}
				n, length = occurrences(fields[i], ts, c.kind == search.Prefix), len(fields[i])
			}
			if n > 0 {
				s += math.Sqrt(float64(n)) / math.Sqrt(float64(length))
			}
		}
	}
	return math.Round(s*1e9) / 1e9
}

// count counts the terms of a column (space-separated) equal to t (or starting with it), and
// the column's terms.
func count(col, t string, prefix bool) (n, length int) {
	for col != "" {
		term := col
		if i := strings.IndexByte(col, ' '); i >= 0 {
			term, col = col[:i], col[i+1:]
		} else {
			col = ""
		}
		if term == "" {
			continue
		}
		length++
		if term == t || prefix && strings.HasPrefix(term, t) {
			n++
		}
	}
	return n, length
}

// occurrences counts where the terms ts occur in a row in col; with prefix, the last term is a
// prefix.
func occurrences(col, ts []string, prefix bool) int {
	n := 0
	for i := 0; i+len(ts) <= len(col); i++ {
		if matchAt(col, i, ts, prefix) {
			n++
		}
	}
	return n
}

func matchAt(col []string, i int, ts []string, prefix bool) bool {
	for j, t := range ts {
		if prefix && j == len(ts)-1 {
			if !strings.HasPrefix(col[i+j], t) {
				return false
			}
		} else if col[i+j] != t {
			return false
		}
	}
	return true
}

// Highlights: at most this many fragments of about this many bytes.
const (
	fragmentSize = 160
	fragments    = 3
)

// highlights cuts fragments of the original text around what the query's words, phrases and
// prefixes matched, HTML-escaped, with the matches in <mark>…</mark>.
func highlights(text string, must []clauseTerms) []string {
	if len(must) == 0 || text == "" {
		return nil
	}
	toks := analyze(text, false)
	col := make([]string, len(toks))
	for i, t := range toks {
		col[i] = t.term
	}
	var spans [][2]int
	for _, c := range must {
		if len(c.text) == 0 {
			continue
		}
		for i := 0; i+len(c.text) <= len(col); i++ {
			if matchAt(col, i, c.text, c.kind == search.Prefix) {
				for _, t := range toks[i : i+len(c.text)] {
					spans = append(spans, [2]int{t.start, t.end})
				}
			}
		}
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s[0] < last[1] { // overlapping (bigrams); words side by side stay apart
			last[1] = max(last[1], s[1])
			continue
		}
		merged = append(merged, s)
	}
	var out []string
	for i := 0; i < len(merged) && len(out) < fragments; {
		first := merged[i]
		start := max(0, first[0]-(fragmentSize-(first[1]-first[0]))/2)
		end := min(len(text), start+fragmentSize)
		if end == len(text) {
			start = max(0, end-fragmentSize)
		}
		start = min(start, first[0])
		for start > 0 && !utf8.RuneStart(text[start]) {
			start--
		}
		end = max(end, first[1])
		for end < len(text) && !utf8.RuneStart(text[end]) {
			end++
		}
		var b strings.Builder
		if start > 0 {
			b.WriteString("…")
		}
		pos := start
		for ; i < len(merged) && merged[i][0] < end; i++ {
			s := merged[i]
			b.WriteString(html.EscapeString(text[pos:s[0]]))
			b.WriteString("<mark>")
			b.WriteString(html.EscapeString(text[s[0]:s[1]]))
			b.WriteString("</mark>")
			pos = s[1]
			end = max(end, pos)
		}
		b.WriteString(html.EscapeString(text[pos:end]))
		if end < len(text) {
			b.WriteString("…")
		}
		out = append(out, b.String())
	}
	return out
}
