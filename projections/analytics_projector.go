package projections

import (
	"context"
	"log/slog"
	"slices"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// AnalyticsProjector applies the log to the conversation metrics. It is its own consumer
// group with its own checkpoint, named after the definition's version: a process whose
// definition differs from the stored one drops the figures and recomputes all history.
type AnalyticsProjector struct {
	store  AnalyticsStore
	log    eventlog.Log
	logger *slog.Logger
	name   string

	progress *eventlog.Progress
	after    func(context.Context, eventlog.Cursor) error
}

// Trail makes the projector apply a batch only once after (the read model's WaitFor) says the
// read model has applied it. Both write the read model's database, one writer at a time: the
// inbox goes first, so after a rebuild it serves before the metrics are recomputed, and under
// load a metrics batch does not hold the writer while the inbox has events to apply.
func (p *AnalyticsProjector) Trail(after func(context.Context, eventlog.Cursor) error) {
	p.after = after
}

// NewAnalyticsProjector returns the projector of log into store, for definition name (""
// means AnalyticsProjection; tests pass another to force a rebuild).
func NewAnalyticsProjector(log eventlog.Log, store AnalyticsStore, logger *slog.Logger, name string) *AnalyticsProjector {
	if name == "" {
		name = AnalyticsProjection
	}
	return &AnalyticsProjector{store: store, log: log, logger: logger, name: name, progress: eventlog.NewProgress()}
}

// Definition is the name and version of the definition this projector computes.
func (p *AnalyticsProjector) Definition() string { return p.name }

// Run consumes the log until ctx is done, after dropping figures of another definition.
func (p *AnalyticsProjector) Run(ctx context.Context) error {
	defs, err := p.store.AnalyticsDefinitions(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(defs, func(d string) bool { return d != p.name }) {
		p.logger.Warn("analytics definition changed: recomputing every conversation metric from the beginning of the log",
			"stored", defs, "definition", p.name)
		if err := p.store.ResetAnalytics(ctx); err != nil {
			return err
		}
	}
	cp, err := p.store.Checkpoint(ctx, p.name)
	if err != nil {
		return err
	}
	if err := p.log.SetCheckpoint(ctx, p.name, cp); err != nil {
		p.logger.Warn("analytics projector: group checkpoint not moved; resuming from the group's", "err", err)
	}
	return p.log.Consume(ctx, p.name, p.Handle)
}

// Handle applies a batch: the facts its events add or change, then the turns of every thread
// they touched, and the checkpoint, in one transaction. A thread whose new facts all come after
// its last known fact (live traffic) has its turns folded on from its tail: its last turn and
// the new ones are written, its earlier facts are not read. Any other change (a backfilled
// message landing between others, a reply that failed, a thread without a tail) recomputes the
// thread's turns from all of its facts.
func (p *AnalyticsProjector) Handle(ctx context.Context, records []eventlog.Record) error {
	if p.after != nil && len(records) > 0 {
		batch := eventlog.Cursor{}
		for _, r := range records {
			batch.Advance(r.Position)
		}
		if err := p.after(ctx, batch); err != nil {
			return err
		}
	}
	var cp eventlog.Cursor
	err := p.store.UpdateAnalytics(ctx, func(tx AnalyticsTx) error {
		var err error
		if cp, err = tx.Checkpoint(p.name); err != nil {
			return err
		}
		// The changes of the records not applied yet, in order, and the facts they name: read
		// in one call, then changed in memory, so a batch costs the same few round trips
		// however many records it holds.
		type change struct {
			AnalyticsChange
			ref FactRef
		}
		var changes []change
		var refs []FactRef
		applied := false
		for _, r := range records {
			if !cp.After(r.Position) {
				continue
			}
			cp.Advance(r.Position)
			applied = true
			ch, ok := AnalyticsChangeOf(r.Event)
			if !ok {
				continue
			}
			c := change{AnalyticsChange: ch, ref: FactRef{TeamID: ch.Put.TeamID, ID: ch.Put.ID}}
			if ch.Update != nil {
				c.ref = FactRef{TeamID: r.Event.TeamID, ID: ch.MessageID}
			}
			changes = append(changes, c)
			refs = append(refs, c.ref)
		}
		if !applied {
			return nil
		}
		known, err := tx.GetFacts(refs)
		if err != nil {
			return err
		}
		type thread struct {
			ThreadRef
			tail    ThreadTail
			full    bool // recompute from all facts
			updated bool // a known fact changed
			add     []ConversationFact
		}
		var touched []*thread
		byRef := map[ThreadRef]*thread{}
		var put []FactRef
		putting := map[FactRef]bool{}
		for _, c := range changes {
			f, ok := known[c.ref]
			switch {
			case c.Update != nil && !ok:
				continue // a fact we never had: nothing to change
			case c.Update != nil:
				c.Update(&f)
			case ok:
				continue // the fact is known: an echo of our own reply, a redelivery
			default:
				f = c.Put
			}
			known[c.ref] = f
			if !putting[c.ref] {
				putting[c.ref] = true
				put = append(put, c.ref)
			}
			tr := ThreadRef{TeamID: f.TeamID, ThreadID: f.ThreadID}
			t := byRef[tr]
			if t == nil {
				t = &thread{ThreadRef: tr}
				byRef[tr] = t
				touched = append(touched, t)
			}
			t.updated = t.updated || c.Update != nil
			t.add = append(t.add, f)
		}
		facts := make([]ConversationFact, len(put))
		for i, ref := range put {
			facts[i] = known[ref]
		}
		if err := tx.PutFacts(facts); err != nil {
			return err
		}
		threads := make([]ThreadRef, len(touched))
		for i, t := range touched {
			threads[i] = t.ThreadRef
		}
		tails, err := tx.Tails(threads)
		if err != nil {
			return err
		}
		for _, t := range touched {
			var ok bool
			t.tail, ok = tails[t.ThreadRef]
			t.full = !ok || t.updated
			for _, f := range t.add {
				t.full = t.full || f.Key().Compare(t.tail.Last) <= 0
			}
		}
		for _, t := range touched {
			fold, from := t.tail.Resume(), t.tail.Replies
			facts := t.add
			if t.full {
				if facts, err = tx.Facts(t.TeamID, t.ThreadID); err != nil {
					return err
				}
				fold, from = TurnFold{}, 0
				if err := tx.DeleteTurns(t.TeamID, t.ThreadID); err != nil {
					return err
				}
			}
			fold.Add(facts...)
			tail := ThreadTail{Last: t.tail.Last, RunStart: fold.RunStart}
			if t.full {
				tail.Last = FactKey{}
			}
			for _, f := range facts {
				if k := f.Key(); tail.Last.At.IsZero() || k.Compare(tail.Last) > 0 {
					tail.Last = k
				}
			}
			if err := tx.PutTurns(t.TeamID, t.ThreadID, fold.Turns, from); err != nil {
				return err
			}
			if err := tx.PutTail(t.TeamID, t.ThreadID, tail); err != nil {
				return err
			}
		}
		return tx.SetCheckpoint(p.name, cp)
	})
	if err != nil {
		return err
	}
	p.progress.Moved(cp)
	return nil
}

// WaitFor blocks until the projection has applied every position of c.
func (p *AnalyticsProjector) WaitFor(ctx context.Context, c eventlog.Cursor) error {
	return p.progress.WaitFor(ctx, c, func(ctx context.Context) (eventlog.Cursor, error) {
		return p.store.Checkpoint(ctx, p.name)
	})
}
