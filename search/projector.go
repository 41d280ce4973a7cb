package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/internal/health"
)

// Projection is the search index's consumer group. Frozen: renaming it rebuilds the index from
// the whole log.
const Projection = "search.v1"

// errIndexReplaced stops a batch written for an index that is no longer the live one.
var errIndexReplaced = errors.New("search index replaced by a reindex")

// Projector applies the log to the search index. The index keeps its own checkpoint, written
// after each batch: events at or before it are skipped on redelivery, and every change is
// idempotent (a received message already indexed is left alone, an edit sets the text, a
// delete deletes), so a crash between a batch and its checkpoint changes nothing on replay.
type Projector struct {
	idx    Index
	log    eventlog.Log
	logger *slog.Logger
	group  string // the consumer group: Projection, or a reindex's own

	progress *eventlog.Progress

	mu      sync.Mutex
	applied eventlog.Cursor    // what this Run has written, to notice a replaced index
	rewind  context.CancelFunc // ends the current Consume so Run resumes from the index

	health health.Part

	build *buildProgress // while the index is built from the beginning of the log
}

// buildProgress reports, in the log, an index built from the beginning of the log (a new data
// folder, an index dropped or migrated): where it is, every logEvery, and when it is done.
type buildProgress struct {
	target          eventlog.Cursor // the log's head when the build began
	started, logged time.Time
	events, docs    int
}

const logEvery = 5 * time.Second

// building notes that the index starts empty while the log is not.
func (p *Projector) building(ctx context.Context, cp eventlog.Cursor) {
	if len(cp) > 0 {
		return
	}
	head, err := p.log.Head(ctx)
	if err != nil || len(head) == 0 {
		return
	}
	p.logger.Info("search index empty: building it from the event log", "group", p.group, "log_head", head.String())
	now := time.Now()
	p.mu.Lock()
	p.build = &buildProgress{target: head, started: now, logged: now}
	p.mu.Unlock()
}

// built counts a batch of a build, and says how far it is.
func (p *Projector) built(cp eventlog.Cursor, events, docs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.build
	if b == nil {
		return
	}
	b.events += events
	b.docs += docs
	if cp.Covers(b.target) {
		took := time.Since(b.started)
		p.logger.Info("search index built from the event log", "group", p.group, "events", b.events, "documents_written", b.docs,
			"took", took.Round(time.Millisecond), "events_per_s", int(float64(b.events)/max(took.Seconds(), 1e-9)))
		p.build = nil
		return
	}
	if time.Since(b.logged) >= logEvery {
		b.logged = time.Now()
		p.logger.Info("search index build progress", "group", p.group, "events", b.events, "documents_written", b.docs,
			"position", cp.String(), "until", b.target.String(), "elapsed", time.Since(b.started).Round(time.Second))
	}
}

// Health is nil while the projector applies the log, else why it is paused (and retrying).
func (p *Projector) Health() error { return p.health.State() }

// NewProjector returns a projector of log into idx.
func NewProjector(log eventlog.Log, idx Index, logger *slog.Logger) *Projector {
	return &Projector{idx: idx, log: log, logger: logger, group: Projection, progress: eventlog.NewProgress()}
}

// WithGroup consumes as another group: a reindex fills a new index beside the live one.
func (p *Projector) WithGroup(group string) *Projector {
	p.group = group
	return p
}

// Run consumes the log until ctx is done. It resumes from the index's own checkpoint, not the
// log's: a dropped index is rebuilt from the beginning of the log.
func (p *Projector) Run(ctx context.Context) error {
	for {
		cp, err := p.idx.Checkpoint(ctx)
		p.health.Observe(err)
		if err != nil {
			return err
		}
		p.building(ctx, cp)
		if err := p.log.SetCheckpoint(ctx, p.group, cp); err != nil {
			// Refused while other members of the group consume into the same index.
			p.logger.Warn("search projector: group checkpoint not moved; resuming from the group's", "err", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		p.mu.Lock()
		p.applied, p.rewind = nil, cancel
		p.mu.Unlock()
		err = p.log.Consume(cctx, p.group, p.Handle)
		rewound := cctx.Err() != nil && ctx.Err() == nil
		cancel()
		if !rewound {
			return err
		}
		// Handle found the index behind what this projector wrote: another index took the
		// alias (search reindex). Resume from that index's own checkpoint.
		p.logger.Info("search index replaced; resuming from its checkpoint", "checkpoint", cp.String())
	}
}

// Handle applies a batch of records; it is the consumer group's handler. A failure (a full disk)
// is returned, so the log redelivers the batch with backoff; a panic in the index's engine is
// contained to this batch the same way.
func (p *Projector) Handle(ctx context.Context, records []eventlog.Record) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("search projector: %w: %v", health.ErrPanic, r)
			p.logger.Error("search projector: panic contained; the batch will be retried", "err", err, "stack", string(debug.Stack()))
		}
		if !errors.Is(err, errIndexReplaced) {
			p.health.Observe(err)
		}
	}()
	return p.handle(ctx, records)
}

func (p *Projector) handle(ctx context.Context, records []eventlog.Record) error {
	cp, err := p.idx.Checkpoint(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	replaced := p.applied != nil && !cp.Covers(p.applied)
	rewind := p.rewind
	p.mu.Unlock()
	if replaced && rewind != nil {
		rewind()
		return errIndexReplaced
	}
	b := &batch{idx: p.idx, pending: map[docKey]*pendingDoc{}}
	applied, events := false, 0
	for _, r := range records {
		if !cp.After(r.Position) {
			continue // applied before: a redelivery changes nothing
		}
		if err := b.apply(ctx, r.Event); err != nil {
			return err
		}
		cp.Advance(r.Position)
		applied = true
		events++
	}
	if !applied {
		return nil
	}
	if err := b.flush(ctx); err != nil {
		return err
	}
	if err := p.idx.SetCheckpoint(ctx, cp); err != nil {
		return err
	}
	p.mu.Lock()
	p.applied = cp
	p.mu.Unlock()
	p.progress.Moved(cp)
	p.built(cp, events, len(b.order))
	return nil
}

// WaitFor blocks until the index has applied every position of c. It polls the index as well,
// for projectors in other processes.
func (p *Projector) WaitFor(ctx context.Context, c eventlog.Cursor) error {
	return p.progress.WaitFor(ctx, c, p.idx.Checkpoint)
}

type docKey struct{ team, message string }

// pendingDoc is a document as this batch leaves it: replaced, or deleted.
type pendingDoc struct {
	doc     Doc
	deleted bool
}

// batch gathers a batch's changes so each document is written once, and so later events of
// the batch see what earlier ones did before anything reaches the index.
type batch struct {
	idx     Index
	pending map[docKey]*pendingDoc
	order   []docKey
}

func (b *batch) set(k docKey, d *pendingDoc) {
	if _, ok := b.pending[k]; !ok {
		b.order = append(b.order, k)
	}
	b.pending[k] = d
}

// current returns the document as the batch sees it (nil when it does not exist).
func (b *batch) current(ctx context.Context, k docKey) (*Doc, error) {
	if d, ok := b.pending[k]; ok {
		if d.deleted {
			return nil, nil
		}
		doc := d.doc
		return &doc, nil
	}
	doc, ok, err := b.idx.Get(ctx, k.team, k.message)
	if err != nil || !ok {
		return nil, err
	}
	return &doc, nil
}

func (b *batch) apply(ctx context.Context, e domain.Event) error {
	team := e.TeamID
	switch p := e.Payload.(type) {
	case domain.MessageReceived:
		return b.add(ctx, docOf(e, p))
	case domain.MessageSendRequested:
		return b.add(ctx, docOf(e, domain.MessageReceived{
			MessageID: p.MessageID, ThreadID: p.ThreadID, ProspectID: p.ProspectID, AccountLinkID: p.AccountLinkID,
			Platform: p.Platform, Direction: domain.Outbound, Text: p.Text, Attachments: p.Attachments,
		}))
	case domain.MessageEdited:
		k := docKey{team, p.MessageID}
		doc, err := b.current(ctx, k)
		if err != nil || doc == nil {
			return err // a message never indexed (or deleted) stays so
		}
		doc.Text = p.Text
		b.set(k, &pendingDoc{doc: *doc})
	case domain.MessageDeleted:
		b.set(docKey{team, p.MessageID}, &pendingDoc{deleted: true})
	case domain.ProspectProfileUpdated:
		return b.renameProspect(ctx, team, p)
	}
	return nil // an event type the index does not hold
}

// add indexes a new message. Like the read model, the first version of a message id wins: the
// same message brought again (webhook, poll, backfill) never undoes a later edit.
func (b *batch) add(ctx context.Context, doc Doc) error {
	k := docKey{doc.TeamID, doc.MessageID}
	if _, ok := b.pending[k]; ok {
		return nil
	}
	_, ok, err := b.idx.Get(ctx, k.team, k.message)
	if err != nil || ok {
		return err
	}
	b.set(k, &pendingDoc{doc: doc})
	return nil
}

// renameProspect carries a profile change to every message of the prospect, so they are found
// by the prospect's new name too. Profile updates are rare next to messages.
func (b *batch) renameProspect(ctx context.Context, team string, p domain.ProspectProfileUpdated) error {
	if p.DisplayName == "" && p.Username == "" {
		return nil
	}
	rename := func(d *Doc) bool {
		before := *d
		if p.DisplayName != "" {
			d.ProspectName = p.DisplayName
		}
		if p.Username != "" {
			d.ProspectUsername = p.Username
		}
		return d.ProspectName != before.ProspectName || d.ProspectUsername != before.ProspectUsername
	}
	for _, k := range b.order {
		if d := b.pending[k]; k.team == team && !d.deleted && d.doc.ProspectID == p.ProspectID {
			rename(&d.doc)
		}
	}
	q := Query{TeamID: team, ProspectID: p.ProspectID, Sort: SortNewest, Size: 100}
	for {
		res, err := b.idx.Search(ctx, q)
		if err != nil {
			return err
		}
		for _, h := range res.Hits {
			k := docKey{team, h.MessageID}
			if _, ok := b.pending[k]; ok {
				continue // renamed above, or deleted
			}
			doc, err := b.current(ctx, k)
			if err != nil {
				return err
			}
			if doc != nil && rename(doc) {
				b.set(k, &pendingDoc{doc: *doc})
			}
		}
		if len(res.Hits) < q.Size {
			return nil
		}
		last := res.Hits[len(res.Hits)-1]
		q.After = &After{Score: last.Score, SentAt: last.SentAt, MessageID: last.MessageID}
	}
}

// flush writes the batch's documents and deletions.
func (b *batch) flush(ctx context.Context) error {
	var docs []Doc
	deletes := map[string][]string{}
	var teams []string
	for _, k := range b.order {
		d := b.pending[k]
		if !d.deleted {
			docs = append(docs, d.doc)
			continue
		}
		if _, ok := deletes[k.team]; !ok {
			teams = append(teams, k.team)
		}
		deletes[k.team] = append(deletes[k.team], k.message)
	}
	if len(docs) > 0 {
		if err := b.idx.Put(ctx, docs); err != nil {
			return err
		}
	}
	for _, team := range teams {
		if err := b.idx.Delete(ctx, team, deletes[team]); err != nil {
			return err
		}
	}
	return nil
}

// docOf is what the index holds of a received message.
func docOf(e domain.Event, p domain.MessageReceived) Doc {
	sent := p.SentAt
	if sent.IsZero() {
		sent = e.OccurredAt
	}
	d := Doc{TeamID: e.TeamID, MessageID: p.MessageID, ThreadID: p.ThreadID, ProspectID: p.ProspectID,
		AccountLinkID: p.AccountLinkID, Platform: p.Platform.String(), Direction: p.Direction.String(),
		Text: p.Text, ProspectName: p.Prospect.DisplayName, ProspectUsername: p.Prospect.Username, SentAt: sent.UTC()}
	for _, a := range p.Attachments {
		if a.Name != "" {
			d.AttachmentNames = append(d.AttachmentNames, a.Name)
		}
		// The kind ("image") and the media type ("application/pdf") both say what it is.
		for _, t := range []string{a.Type, a.MimeType} {
			if t != "" && !slices.Contains(d.AttachmentTypes, t) {
				d.AttachmentTypes = append(d.AttachmentTypes, t)
			}
		}
	}
	return d
}
