package commands

import (
	"context"
	"errors"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// The write model: commands decide on aggregates loaded from their own streams in the log, not
// on the read model (which lags), and append what they decide only if the stream is still at the
// version they decided on. A stale append is refused by the log; the command catches up and
// decides again.

const (
	// DefaultAggregateCache is how many aggregates of each kind a process keeps in memory.
	DefaultAggregateCache = 20000
	// conflictAttempts bounds how often a command decides again after losing a race.
	conflictAttempts = 8
	// readStreamPage is how many events one read of a stream returns.
	readStreamPage = 1000
	// teamFreshness bounds how stale a team's configuration may be when a command only reads it
	// (is the link active, does the tag exist) on a process that did not write the change;
	// a check that fails reads the stream before answering.
	teamFreshness = time.Second
)

// aggregate is what the repository needs of domain.Team and domain.Prospect.
type aggregate[A any] interface {
	Apply(domain.Event)
	Version() int64
	Clone() A
	Has(eventID string) bool
}

// repository loads aggregates of one kind from their streams, keeps them in a bounded cache,
// and appends what they decide with the version they decided at. Within a process, commands
// on one stream take turns (so they do not race each other); across processes the log's
// expected-version check decides.
type repository[A aggregate[A]] struct {
	log   Appender
	fresh func(key string) A
	cache *lru.Cache[string, *cachedAggregate[A]]
}

type cachedAggregate[A any] struct {
	mu  sync.Mutex
	agg A
	// behind means the stream may hold events the aggregate has not applied: true for a new
	// entry (nothing read yet) and after an append that found other events. Deciding does not
	// wait for it: the append's expected version catches a stale decision.
	behind bool
	// caughtUp is when the aggregate last read its stream to the end.
	caughtUp time.Time
}

func newRepository[A aggregate[A]](log Appender, size int, fresh func(key string) A) *repository[A] {
	c, _ := lru.New[string, *cachedAggregate[A]](size)
	return &repository[A]{log: log, fresh: fresh, cache: c}
}

func (r *repository[A]) entry(team, key string) *cachedAggregate[A] {
	k := team + "\x00" + key
	if c, ok := r.cache.Get(k); ok {
		return c
	}
	c := &cachedAggregate[A]{agg: r.fresh(key), behind: true}
	if prev, found, _ := r.cache.PeekOrAdd(k, c); found {
		return prev
	}
	return c
}

// catchUp applies the stream's events after the aggregate's version. Versions are gapless; a
// gap (the cache held an aggregate of a log that was replaced) starts over from the beginning.
func (r *repository[A]) catchUp(ctx context.Context, team, key string, c *cachedAggregate[A]) error {
	for {
		recs, err := r.log.ReadStream(ctx, team, key, c.agg.Version(), readStreamPage)
		if err != nil {
			return logError(err)
		}
		for _, rec := range recs {
			if rec.Version != c.agg.Version()+1 {
				c.agg = r.fresh(key)
				return r.catchUp(ctx, team, key, c)
			}
			c.agg.Apply(rec.Event)
		}
		if len(recs) < readStreamPage {
			c.behind, c.caughtUp = false, time.Now()
			return nil
		}
	}
}

// load returns a copy of the aggregate for reading: as this process last knew it when that is
// within maxAge of the stream's end, else caught up (maxAge 0: always caught up).
func (r *repository[A]) load(ctx context.Context, team, key string, maxAge time.Duration) (A, error) {
	c := r.entry(team, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.behind || maxAge == 0 || time.Since(c.caughtUp) > maxAge {
		if err := r.catchUp(ctx, team, key, c); err != nil {
			var zero A
			return zero, err
		}
	}
	return c.agg.Clone(), nil
}

// update lets decide turn the aggregate of (team, key) into events, and appends them expecting
// the version decide saw. decide gets a copy it may change (e.g. apply its own events to decide
// the next); returning no event appends nothing.
//
// It decides optimistically on what this process knows of the stream (nothing, for a stream it
// has not touched yet) and lets the log judge: when another writer appended first, the append
// is refused, the aggregate catches up and decide runs again, a bounded number of times. A
// rule that fails, or a decision to do nothing, is checked again on the whole stream before it
// is answered.
//
// known is the id of the event a retried command would append again (derived from its
// idempotency key; "" for none): when its rule now fails because that event is already in the
// stream (the first call's outcome was lost), the answer is that event, as a duplicate.
func (r *repository[A]) update(ctx context.Context, team, key, known string, decide func(A) ([]domain.Event, error)) ([]eventlog.AppendResult, error) {
	c := r.entry(team, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 1; ; attempt++ {
		events, err := decide(c.agg.Clone())
		if err == nil && len(events) == 0 && c.behind {
			// Nothing to do, on what this process knows: the stream may say otherwise.
			if err := r.catchUp(ctx, team, key, c); err != nil {
				return nil, err
			}
			events, err = decide(c.agg.Clone())
		}
		if err != nil && domain.KindOf(err) != domain.KindInternal {
			if err := r.catchUp(ctx, team, key, c); err != nil {
				return nil, err
			}
			if known != "" && c.agg.Has(known) {
				return r.find(ctx, team, key, known)
			}
			events, err = decide(c.agg.Clone())
		}
		if err != nil || len(events) == 0 {
			return nil, err
		}
		res, err := r.log.AppendStream(ctx, team, key, c.agg.Version(), events)
		if errors.Is(err, eventlog.ErrConflict) {
			if attempt == conflictAttempts {
				c.behind = true
				return nil, domain.Aborted("%s changed concurrently %d times while this command was decided; retry it", key, attempt)
			}
			if err := r.catchUp(ctx, team, key, c); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, logError(err)
		}
		for i, re := range res {
			if re.Duplicate || re.Version != c.agg.Version()+1 {
				// Written before (a retry), or by someone else in between: what the stream
				// holds is not exactly what was decided; read it back before the next decision.
				c.behind = true
				break
			}
			c.agg.Apply(events[i])
		}
		return res, nil
	}
}

// find answers an event already in the stream as a duplicate append. Rare (a retry whose first
// outcome was lost), so it reads the stream.
func (r *repository[A]) find(ctx context.Context, team, key, id string) ([]eventlog.AppendResult, error) {
	for after := int64(0); ; {
		recs, err := r.log.ReadStream(ctx, team, key, after, readStreamPage)
		if err != nil {
			return nil, logError(err)
		}
		for _, rec := range recs {
			if rec.Event.ID == id {
				return []eventlog.AppendResult{{Position: rec.Position, Duplicate: true, Version: rec.Version}}, nil
			}
			after = rec.Version
		}
		if len(recs) < readStreamPage {
			return nil, errors.New("an event the aggregate applied is not in its stream")
		}
	}
}

// logError keeps an event-log failure's kind when it has one, and is Unavailable otherwise.
func logError(err error) error {
	if domain.KindOf(err) != domain.KindInternal {
		return err
	}
	return domain.Unavailable("the event log", err)
}

// writeModel holds the aggregates' repositories of one App, shared by its handlers.
type writeModel struct {
	teams     *repository[*domain.Team]
	prospects *repository[*domain.Prospect]
	// threads maps a thread to its prospect (its stream), learned from the events this process
	// appended; the read model answers for the others. The mapping never changes.
	threads *lru.Cache[string, string]
}

func newWriteModel(d Deps) *writeModel {
	size := d.AggregateCache
	if size <= 0 {
		size = DefaultAggregateCache
	}
	threads, _ := lru.New[string, string](size * 4)
	return &writeModel{
		teams:     newRepository(d.Log, 1024, domain.NewTeam),
		prospects: newRepository(d.Log, size, domain.NewProspect),
		threads:   threads,
	}
}

// model returns the App's write model (or, for a handler made on its own, a new one).
func (b base) model() *writeModel {
	if b.wm != nil {
		return b.wm
	}
	return newWriteModel(b.Deps)
}

// team returns the team's aggregate for a check that only reads it: as this process knows it,
// within teamFreshness. A check that fails on it asks again with teamNow.
func (b base) team(ctx context.Context, teamID string) (*domain.Team, error) {
	return b.model().teams.load(ctx, teamID, teamID, teamFreshness)
}

// teamNow returns the team's aggregate caught up with its stream.
func (b base) teamNow(ctx context.Context, teamID string) (*domain.Team, error) {
	return b.model().teams.load(ctx, teamID, teamID, 0)
}

// prospectOf returns the prospect (stream) a thread of the team belongs to.
func (b base) prospectOf(ctx context.Context, teamID, threadID string) (string, error) {
	wm := b.model()
	if p, ok := wm.threads.Get(teamID + "\x00" + threadID); ok {
		return p, nil
	}
	t, err := b.State.Thread(ctx, teamID, threadID)
	if err := found(err, "thread", threadID); err != nil {
		return "", err
	}
	wm.threads.Add(teamID+"\x00"+threadID, t.ProspectID)
	return t.ProspectID, nil
}

// learnThreads remembers the prospect of every thread that events name.
func (b base) learnThreads(events []domain.Event) {
	wm := b.model()
	for _, e := range events {
		if m, ok := e.Payload.(domain.MessageReceived); ok {
			wm.threads.Add(e.TeamID+"\x00"+m.ThreadID, m.ProspectID)
		}
	}
}

// decideOnTeam runs one decision on the team's aggregate and appends its events, then waits for
// the read model like every team command. known: see repository.update.
func (b base) decideOnTeam(ctx context.Context, teamID, known string, decide func(*domain.Team) ([]domain.Event, error)) (Result, error) {
	res, err := b.model().teams.update(ctx, teamID, teamID, known, decide)
	if err != nil {
		return Result{}, err
	}
	return b.answer(ctx, res, true), nil
}

// decideOnProspect does the same on a prospect's stream.
func (b base) decideOnProspect(ctx context.Context, teamID, prospectID, known string, decide func(*domain.Prospect) ([]domain.Event, error)) (Result, error) {
	res, err := b.model().prospects.update(ctx, teamID, prospectID, known, decide)
	if err != nil {
		return Result{}, err
	}
	return b.answer(ctx, res, true), nil
}

// answer turns append results into a command's Result, and (wait) waits, bounded, for the read
// model to apply them: what a team member does shows in their next read.
func (b base) answer(ctx context.Context, res []eventlog.AppendResult, wait bool) Result {
	if len(res) == 0 {
		return Result{}
	}
	cur := eventlog.Cursor{}
	dup := true
	for _, r := range res {
		cur.Advance(r.Position)
		dup = dup && r.Duplicate
	}
	if wait {
		b.wait(ctx, cur)
	}
	return Result{Position: res[len(res)-1].Position.String(), Duplicate: dup}
}
