package projections

import (
	"context"
	"errors"
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
	var cp eventlog.Cursor
	err := p.store.UpdateAnalytics(ctx, func(tx AnalyticsTx) error {
		var err error
		if cp, err = tx.Checkpoint(p.name); err != nil {
			return err
		}
		type threadKey struct{ team, id string }
		type thread struct {
			threadKey
			tail ThreadTail
			full bool // recompute from all facts
			add  []ConversationFact
		}
		var touched []*thread
		byKey := map[threadKey]*thread{}
		touch := func(team, id string) (*thread, error) {
			k := threadKey{team, id}
			if t := byKey[k]; t != nil {
				return t, nil
			}
			t := &thread{threadKey: k}
			tail, ok, err := tx.Tail(team, id)
			if err != nil {
				return nil, err
			}
			t.tail, t.full = tail, !ok
			byKey[k] = t
			touched = append(touched, t)
			return t, nil
		}
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
			f := ch.Put
			if ch.Update != nil {
				if f, err = tx.GetFact(r.Event.TeamID, ch.MessageID); errors.Is(err, ErrNotFound) {
					continue
				} else if err != nil {
					return err
				}
				ch.Update(&f)
			} else if _, err := tx.GetFact(f.TeamID, f.ID); err == nil {
				continue // the fact is known: an echo of our own reply, a redelivery
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			t, err := touch(f.TeamID, f.ThreadID)
			if err != nil {
				return err
			}
			if ch.Update != nil || f.Key().Compare(t.tail.Last) <= 0 {
				t.full = true
			}
			t.add = append(t.add, f)
			if err := tx.PutFact(f); err != nil {
				return err
			}
		}
		if !applied {
			return nil
		}
		for _, t := range touched {
			fold, from := t.tail.Resume(), t.tail.Replies
			facts := t.add
			if t.full {
				if facts, err = tx.Facts(t.team, t.id); err != nil {
					return err
				}
				fold, from = TurnFold{}, 0
				if err := tx.DeleteTurns(t.team, t.id); err != nil {
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
			if err := tx.PutTurns(t.team, t.id, fold.Turns, from); err != nil {
				return err
			}
			if err := tx.PutTail(t.team, t.id, tail); err != nil {
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
