// Package bleve is the embedded search index: search.Index on a Bleve v2 folder.
package bleve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	blevesearch "github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	charregexp "github.com/blevesearch/bleve/v2/analysis/char/regexp"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/mapping"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/highlight"
	htmlformat "github.com/blevesearch/bleve/v2/search/highlight/format/html"
	"github.com/blevesearch/bleve/v2/search/highlight/fragmenter/simple"
	simplehl "github.com/blevesearch/bleve/v2/search/highlight/highlighter/simple"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/internal/health"
	"github.com/switchboard-oss/switchboard/search"
)

// mappingVersion names the mapping and analyzers below. An index built with another version is
// dropped at Open and rebuilt from the log, so changing either only needs a new version.
const mappingVersion = "switchboard-search-1"

// Internal keys kept in the index itself.
var (
	keyMapping    = []byte("switchboard.mapping")
	keyCheckpoint = []byte("switchboard.checkpoint")
)

// Analyzers.
const (
	// textAnalyzer: Unicode words and emoji, CJK bigrams, folded case, accents and marks.
	textAnalyzer = "switchboard_text"
	// nameAnalyzer: textAnalyzer that also splits at punctuation, for file names and
	// usernames ("invoice_march.pdf" is found by "invoice").
	nameAnalyzer = "switchboard_name"
	punctuation  = "switchboard_punctuation"
)

// Fields of a document.
const (
	fTeam        = "team_id"
	fMessage     = "message_id"
	fThread      = "thread_id"
	fProspect    = "prospect_id"
	fAccount     = "account_link_id"
	fPlatform    = "platform"
	fDirection   = "direction"
	fSentAt      = "sent_at"
	fText        = "text"
	fAttNames    = "attachment_names"
	fAttTypes    = "attachment_types"
	fProspName   = "prospect_name"
	fProspUser   = "prospect_username"
	fStoredDoc   = "doc" // the whole search.Doc as JSON: what Get returns
	fragmentSize = 160
	fragments    = 3
)

// searched are the fields a word, phrase or prefix is looked for in, with their analyzers.
var searched = []struct{ field, analyzer string }{
	{fText, textAnalyzer}, {fAttNames, nameAnalyzer}, {fAttTypes, nameAnalyzer},
	{fProspName, textAnalyzer}, {fProspUser, nameAnalyzer},
}

// Index is search.Index on a Bleve index folder. It contains Bleve's faults: a panic inside
// Bleve (seen on a full disk) fails only the call that met it, and the index is reopened on the
// next call; an index Bleve cannot open (damaged files) is dropped and rebuilt from the log (its
// checkpoint goes with it, and the projector starts again from the beginning of the log).
type Index struct {
	path        string
	logger      *slog.Logger
	highlighter highlight.Highlighter

	mu       sync.RWMutex
	idx      blevesearch.Index // nil while faulted or closed
	fault    error             // why idx is nil, for Ping and /readyz
	lastOpen time.Time
	closed   bool
	rebuilds int
}

var _ search.Index = (*Index)(nil)

// Option configures Open.
type Option func(*Index)

// WithLogger sets where faults and rebuilds are reported.
func WithLogger(l *slog.Logger) Option { return func(x *Index) { x.logger = l } }

// reopenEvery spaces attempts to reopen a faulted index.
const reopenEvery = time.Second

// Open opens the index at path, creating it when missing. An index made with an older mapping
// is dropped: its checkpoint goes with it, so the projector rebuilds it from the log. So is an
// index Bleve cannot open. When the folder cannot be opened nor created now (a full disk), the
// index starts faulted: calls fail as unavailable and it is tried again on use.
func Open(path string, opts ...Option) (*Index, error) {
	x := &Index{path: path, logger: slog.New(slog.DiscardHandler), highlighter: simplehl.NewHighlighter(
		simple.NewFragmenter(fragmentSize), htmlformat.NewFragmentFormatter("<mark>", "</mark>"), "…")}
	for _, o := range opts {
		o(x)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, err := x.openLocked(); err != nil {
		x.logger.Error("search index unavailable; retrying on use", "path", path, "err", err)
	}
	return x, nil
}

// openLocked opens (or creates, or rebuilds) the folder. x.mu is held.
func (x *Index) openLocked() (_ blevesearch.Index, err error) {
	if x.idx != nil {
		return x.idx, nil
	}
	if x.closed {
		return nil, errClosed
	}
	x.lastOpen = time.Now()
	idx, damaged, err := openFolder(x.path)
	if damaged != nil {
		x.logger.Error("search index damaged: dropping it and rebuilding it from the event log", "path", x.path, "cause", damaged)
		x.rebuilds++
		if err = os.RemoveAll(x.path); err == nil {
			idx, err = createFolder(x.path)
		}
	}
	if err != nil {
		x.fault = faultOf(err)
		return nil, x.fault
	}
	if x.fault != nil {
		x.logger.Info("search index open again", "path", x.path, "after", x.fault)
	}
	x.idx, x.fault = idx, nil
	return idx, nil
}

// openFolder opens the index at path; damaged is set when what is there cannot be used.
func openFolder(path string) (idx blevesearch.Index, damaged, err error) {
	defer func() {
		if r := recover(); r != nil {
			idx, damaged, err = nil, fmt.Errorf("panic opening the index: %v", r), nil
		}
	}()
	idx, err = blevesearch.Open(path)
	switch {
	case err == nil:
		v, err := idx.GetInternal(keyMapping)
		if err != nil {
			_ = idx.Close()
			return nil, fmt.Errorf("reading its mapping version: %w", err), nil
		}
		if string(v) == mappingVersion {
			return idx, nil, nil
		}
		if err := idx.Close(); err != nil {
			return nil, nil, fmt.Errorf("close outdated search index: %w", err)
		}
		if err := os.RemoveAll(path); err != nil {
			return nil, nil, fmt.Errorf("drop outdated search index: %w", err)
		}
	case errors.Is(err, blevesearch.ErrorIndexPathDoesNotExist):
	case health.NoSpace(err):
		return nil, nil, fmt.Errorf("open search index: %w", err)
	default:
		return nil, err, nil
	}
	idx, err = createFolder(path)
	return idx, nil, err
}

func createFolder(path string) (idx blevesearch.Index, err error) {
	defer func() {
		if r := recover(); r != nil {
			idx, err = nil, fmt.Errorf("create search index: panic: %v", r)
		}
	}()
	m, err := indexMapping()
	if err != nil {
		return nil, err
	}
	idx, err = blevesearch.New(path, m)
	if err != nil {
		_ = os.RemoveAll(path) // half-made: the next attempt starts clean
		return nil, fmt.Errorf("create search index: %w", err)
	}
	if err := idx.SetInternal(keyMapping, []byte(mappingVersion)); err != nil {
		_ = idx.Close()
		_ = os.RemoveAll(path)
		return nil, fmt.Errorf("create search index: %w", err)
	}
	return idx, nil
}

var errClosed = errors.New("search index closed")

// faultOf is the error calls get while the index is faulted: unavailable, saying why in words
// safe to show.
func faultOf(err error) error {
	if health.NoSpace(err) {
		return domain.Unavailable("the search index (disk full)", err)
	}
	return domain.Unavailable("the search index", err)
}

// use runs fn on the open index, reopening it first if a fault closed it. A panic in fn is
// contained: the call fails, and the index is closed to be reopened by the next call.
func (x *Index) use(fn func(idx blevesearch.Index) error) (err error) {
	x.mu.RLock()
	idx := x.idx
	x.mu.RUnlock()
	if idx == nil {
		x.mu.Lock()
		if x.idx == nil && !x.closed && time.Since(x.lastOpen) < reopenEvery {
			err = x.fault
			if err == nil {
				err = domain.Unavailable("the search index", nil)
			}
			x.mu.Unlock()
			return err
		}
		idx, err = x.openLocked()
		x.mu.Unlock()
		if err != nil {
			return err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = x.panicked(idx, r)
		}
	}()
	return fn(idx)
}

// panicked closes the index that panicked so that the next call reopens it.
func (x *Index) panicked(idx blevesearch.Index, r any) error {
	cause := fmt.Errorf("%w in Bleve: %v", health.ErrPanic, r)
	x.logger.Error("search index panicked; closing it to reopen it", "cause", cause, "stack", string(debug.Stack()))
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx == idx {
		x.idx, x.fault = nil, domain.Unavailable("the search index (recovering from a fault)", cause)
		func() {
			defer func() { _ = recover() }()
			_ = idx.Close()
		}()
	}
	return x.fault
}

// Rebuilds counts the times a damaged index was dropped to be rebuilt (tests, metrics).
func (x *Index) Rebuilds() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.rebuilds
}

func indexMapping() (*mapping.IndexMappingImpl, error) {
	m := blevesearch.NewIndexMapping()
	if err := m.AddCustomCharFilter(punctuation, map[string]interface{}{
		"type": charregexp.Name, "regexp": `\p{P}`, "replace": " ",
	}); err != nil {
		return nil, err
	}
	filters := []string{cjk.BigramName, foldName}
	if err := m.AddCustomAnalyzer(textAnalyzer, map[string]interface{}{
		"type": custom.Name, "tokenizer": tokenizerName, "token_filters": filters,
	}); err != nil {
		return nil, err
	}
	if err := m.AddCustomAnalyzer(nameAnalyzer, map[string]interface{}{
		"type": custom.Name, "char_filters": []string{punctuation}, "tokenizer": tokenizerName, "token_filters": filters,
	}); err != nil {
		return nil, err
	}

	keywordField := func() *mapping.FieldMapping {
		f := blevesearch.NewKeywordFieldMapping()
		f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = false, false, false, false
		return f
	}
	// Term vectors (positions and offsets) make phrases and highlights work.
	textField := func(analyzer string, store bool) *mapping.FieldMapping {
		f := blevesearch.NewTextFieldMapping()
		f.Analyzer, f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = analyzer, store, true, false, false
		return f
	}
	sentAt := blevesearch.NewDateTimeFieldMapping()
	sentAt.Store, sentAt.IncludeInAll, sentAt.DocValues = false, false, true // doc values: sorting
	stored := blevesearch.NewTextFieldMapping()
	stored.Analyzer, stored.Index, stored.Store, stored.IncludeTermVectors, stored.IncludeInAll, stored.DocValues = keyword.Name, false, true, false, false, false

	doc := blevesearch.NewDocumentStaticMapping()
	for _, f := range []string{fTeam, fMessage, fThread, fProspect, fAccount, fPlatform, fDirection} {
		doc.AddFieldMappingsAt(f, keywordField())
	}
	doc.AddFieldMappingsAt(fSentAt, sentAt)
	doc.AddFieldMappingsAt(fText, textField(textAnalyzer, true)) // stored: highlights are cut from it
	doc.AddFieldMappingsAt(fAttNames, textField(nameAnalyzer, false))
	doc.AddFieldMappingsAt(fAttTypes, textField(nameAnalyzer, false))
	doc.AddFieldMappingsAt(fProspName, textField(textAnalyzer, false))
	doc.AddFieldMappingsAt(fProspUser, textField(nameAnalyzer, false))
	doc.AddFieldMappingsAt(fStoredDoc, stored)
	m.DefaultMapping = doc
	m.DefaultAnalyzer = textAnalyzer
	m.StoreDynamic, m.IndexDynamic, m.DocValuesDynamic = false, false, false
	return m, m.Validate()
}

// docID keeps teams apart even if two ever shared a message id.
func docID(teamID, messageID string) string { return teamID + "/" + messageID }

// Put indexes documents in one batch: they are searchable when it returns.
func (x *Index) Put(ctx context.Context, docs []search.Doc) error {
	if len(docs) == 0 {
		return nil
	}
	return x.use(func(idx blevesearch.Index) error { return putDocs(idx, docs) })
}

func putDocs(idx blevesearch.Index, docs []search.Doc) error {
	b := idx.NewBatch()
	for _, d := range docs {
		raw, err := json.Marshal(d)
		if err != nil {
			return err
		}
		fields := map[string]interface{}{
			fTeam: d.TeamID, fMessage: d.MessageID, fThread: d.ThreadID, fProspect: d.ProspectID,
			fAccount: d.AccountLinkID, fPlatform: d.Platform, fDirection: d.Direction,
			fSentAt: d.SentAt, fText: d.Text, fAttNames: d.AttachmentNames, fAttTypes: d.AttachmentTypes,
			fProspName: d.ProspectName, fProspUser: d.ProspectUsername, fStoredDoc: string(raw),
		}
		if err := b.Index(docID(d.TeamID, d.MessageID), fields); err != nil {
			return fmt.Errorf("index message %s: %w", d.MessageID, err)
		}
	}
	return idx.Batch(b)
}

// Get returns a team's document.
func (x *Index) Get(ctx context.Context, teamID, messageID string) (d search.Doc, found bool, err error) {
	err = x.use(func(idx blevesearch.Index) error {
		doc, err := idx.Document(docID(teamID, messageID))
		if err != nil || doc == nil {
			return err
		}
		var ok bool
		d, ok, err = storedDoc(doc)
		found = ok && err == nil && d.TeamID == teamID
		return err
	})
	if err != nil || !found {
		return search.Doc{}, false, err
	}
	return d, true, nil
}

// storedDoc reads the document back from its stored JSON.
func storedDoc(doc index.Document) (search.Doc, bool, error) {
	var raw []byte
	doc.VisitFields(func(f index.Field) {
		if f.Name() == fStoredDoc {
			raw = f.Value()
		}
	})
	if raw == nil {
		return search.Doc{}, false, nil
	}
	var d search.Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return search.Doc{}, false, fmt.Errorf("stored search document %s: %w", doc.ID(), err)
	}
	return d, true, nil
}

// Delete removes a team's documents in one batch.
func (x *Index) Delete(ctx context.Context, teamID string, messageIDs []string) error {
	if len(messageIDs) == 0 {
		return nil
	}
	return x.use(func(idx blevesearch.Index) error {
		b := idx.NewBatch()
		for _, id := range messageIDs {
			b.Delete(docID(teamID, id))
		}
		return idx.Batch(b)
	})
}

// Checkpoint returns the projection's position, kept in the index.
func (x *Index) Checkpoint(ctx context.Context) (eventlog.Cursor, error) {
	var v []byte
	if err := x.use(func(idx blevesearch.Index) (err error) {
		v, err = idx.GetInternal(keyCheckpoint)
		return err
	}); err != nil {
		return nil, err
	}
	return eventlog.ParseCursor(string(v))
}

// SetCheckpoint records the projection's position.
func (x *Index) SetCheckpoint(ctx context.Context, c eventlog.Cursor) error {
	return x.use(func(idx blevesearch.Index) error { return idx.SetInternal(keyCheckpoint, []byte(c.String())) })
}

// Ping checks that the index is open and readable; a faulted index says why.
func (x *Index) Ping(ctx context.Context) error {
	return x.use(func(idx blevesearch.Index) error {
		_, err := idx.DocCount()
		return err
	})
}

// Close closes the index, flushing what it holds. Closing again does nothing.
func (x *Index) Close() (err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	idx := x.idx
	x.idx = nil
	if idx == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("close search index: panic: %v", r)
		}
	}()
	return idx.Close()
}

// Search runs a query: the team and the filters select, the words, phrases and prefixes score.
func (x *Index) Search(ctx context.Context, q search.Query) (res search.Result, err error) {
	err = x.use(func(idx blevesearch.Index) (err error) {
		res, err = x.search(ctx, idx, q)
		return err
	})
	return res, err
}

func (x *Index) search(ctx context.Context, idx blevesearch.Index, q search.Query) (search.Result, error) {
	size := q.Size
	if size <= 0 {
		size = search.DefaultPageSize
	}
	req := blevesearch.NewSearchRequestOptions(toQuery(idx.Mapping(), q), size, 0, false)
	req.IncludeLocations = true // for highlights, cut below with more than one fragment
	sentAt := &bsearch.SortField{Field: fSentAt, Type: bsearch.SortFieldAsDate, Desc: true, Missing: bsearch.SortFieldMissingLast}
	id := &bsearch.SortDocID{Desc: true}
	if q.Sort == search.SortNewest {
		req.SortByCustom(bsearch.SortOrder{sentAt, id})
		if a := q.After; a != nil {
			req.SetSearchAfter([]string{a.SentAt.UTC().Format(time.RFC3339Nano), docID(q.TeamID, a.MessageID)})
		}
	} else {
		req.SortByCustom(bsearch.SortOrder{&bsearch.SortScore{Desc: true}, sentAt, id})
		if a := q.After; a != nil {
			req.SetSearchAfter([]string{strconv.FormatFloat(a.Score, 'g', -1, 64),
				a.SentAt.UTC().Format(time.RFC3339Nano), docID(q.TeamID, a.MessageID)})
		}
	}
	res, err := idx.SearchInContext(ctx, req)
	if err != nil {
		return search.Result{}, err
	}
	out := search.Result{Total: int64(res.Total), Hits: make([]search.Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		doc, err := idx.Document(h.ID)
		if err != nil {
			return search.Result{}, err
		}
		if doc == nil {
			continue // deleted since the search matched it
		}
		d, ok, err := storedDoc(doc)
		if err != nil {
			return search.Result{}, err
		}
		if !ok {
			continue
		}
		hit := search.Hit{MessageID: d.MessageID, ThreadID: d.ThreadID, Score: h.Score, SentAt: d.SentAt}
		if len(h.Locations[fText]) > 0 {
			hit.Highlights = x.highlighter.BestFragmentsInField(h, doc, fText, fragments)
		}
		out.Hits = append(out.Hits, hit)
	}
	return out, nil
}
