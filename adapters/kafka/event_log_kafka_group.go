package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchboard-oss/switchboard/adapters/eventindex"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// maxPublishing is how many groups may be publishing at once: the next group's claims are
// taken while the previous one's records are produced.
const maxPublishing = 2

// maxGroupEvents caps the events of one group commit: under a flood of appends the log still
// answers steadily, and one statement's arrays stay moderate.
const maxGroupEvents = 1000

// Group commit: concurrent appends share one round of work. One goroutine at a time (drain)
// takes the calls waiting at that moment and, for all of them at once, claims their ids (one
// Claim), reads their duplicates' versions, claims their streams' versions (one statement on
// PostgreSQL, each call with its own expected version: a conflict fails that call only),
// publishes their records (one SendMessages) and confirms them (one Confirm). Every call is
// told exactly what it would have been told alone. The next group takes its claims while the
// previous one's records are produced (at most maxPublishing groups publish at once); a call
// that touches the ids or streams of a group being published waits until that one settles.
//
// What needs waiting or looking leaves the group and goes on alone, as Append did before
// group commit: ids another call holds or whose claimer died (claimAll, lookFor), streams
// another append is writing or whose writer died (claimVersions). Calls that share an event id
// or a stream with a call of the group wait for the next group, so they see its outcome: a
// duplicate, a version conflict, a claim to wait for. A group has one claim owner token: its
// calls' ids are distinct, so each call still releases only its own claims.

// versionGroupClaimer is an index that claims the versions of several appends in one round
// trip (postgres.EventIndex): groups[i] is one append's claims, taken all or none like
// StreamIndex.ClaimVersions, independently of the other groups'. Streams never appear in two
// groups. Other indexes get one ClaimVersions per append.
type versionGroupClaimer interface {
	ClaimVersionGroups(ctx context.Context, owner string, groups [][]eventindex.StreamClaim, lease time.Duration) ([][]eventindex.StreamHead, []bool, error)
}

// enqueue hands a to the group commit, starting the goroutine that runs groups if none runs.
func (l *EventLog) enqueue(a *appendCall) {
	l.groupMu.Lock()
	l.queue = append(l.queue, a)
	start := !l.draining
	if start {
		l.draining = true
		l.active.Add(1) // the caller's own registration keeps the count above zero
	}
	l.groupMu.Unlock()
	if start {
		go l.drain()
	}
}

// drain runs group commits while calls wait, one at a time, each with the calls waiting at
// its start. Close waits for it.
func (l *EventLog) drain() {
	defer l.active.Done()
	for {
		l.groupMu.Lock()
		group := l.takeGroup()
		for len(group) == 0 && len(l.queue) > 0 {
			// Every call waiting touches a group being published: wait for it to settle.
			l.settled.Wait()
			group = l.takeGroup()
		}
		if len(group) == 0 {
			l.draining = false
			l.groupMu.Unlock()
			return
		}
		l.groupMu.Unlock()
		l.commitGroup(group)
	}
}

// takeGroup takes from the queue, in order, the calls of the next group: up to maxGroupEvents
// events (at least one call), leaving for a later group every call that shares an event id or
// a stream with a call taken or with a group being published. l.groupMu is held.
func (l *EventLog) takeGroup() []*appendCall {
	var group []*appendCall
	ids := map[string]bool{}
	streams := map[[2]string]bool{}
	n := 0
	var rest []*appendCall
	for i, a := range l.queue {
		if len(group) > 0 && n+len(a.events) > maxGroupEvents {
			rest = append(rest, l.queue[i:]...)
			break
		}
		if a.overlaps(ids, streams) || a.inflight(l.inflight) {
			rest = append(rest, a)
			continue
		}
		group = append(group, a)
		n += len(a.events)
		for _, id := range a.ids {
			ids[id] = true
			streams[a.streams[id]] = true
		}
	}
	l.queue = rest
	return group
}

// overlaps says whether one of the call's ids or streams is in ids or streams.
func (a *appendCall) overlaps(ids map[string]bool, streams map[[2]string]bool) bool {
	for _, id := range a.ids {
		if ids[id] || streams[a.streams[id]] {
			return true
		}
	}
	return false
}

// inflight says whether one of the call's ids or streams is being published.
func (a *appendCall) inflight(set map[any]int) bool {
	if len(set) == 0 {
		return false
	}
	for _, id := range a.ids {
		if set[id] > 0 || set[a.streams[id]] > 0 {
			return true
		}
	}
	return false
}

// markInflight adds (delta 1) or removes (-1) the calls' ids and streams to the set of those
// being published. l.groupMu is held.
func (l *EventLog) markInflight(calls []*groupCall, delta int) {
	for _, c := range calls {
		for _, id := range c.a.ids {
			for _, k := range []any{id, c.a.streams[id]} {
				if l.inflight[k] += delta; l.inflight[k] == 0 {
					delete(l.inflight, k)
				}
			}
		}
	}
	l.publishing += delta
}

// groupCall is a call in the group's hands: what it learnt so far.
type groupCall struct {
	a         *appendCall
	positions map[string]eventlog.Position
	dups      map[string]bool
	fresh     []domain.Event
	msgs      []*sarama.ProducerMessage
}

func (c *groupCall) answer() appendAnswer {
	return appendAnswer{positions: c.positions, dups: c.dups, versions: c.a.versions}
}

// goAlone runs the rest of a call on its own goroutine, which answers it.
func (l *EventLog) goAlone(a *appendCall, rest func() appendAnswer) {
	l.active.Add(1) // drain's registration keeps the count above zero
	go func() {
		defer l.active.Done()
		a.done <- rest()
	}()
}

// releaseGroup gives up the claims of calls that publish nothing (none recovered), in one
// go, then answers each with err.
func (l *EventLog) releaseGroup(owner string, calls []*groupCall, err error) {
	var ids, versioned []string
	for _, c := range calls {
		ids = append(ids, c.a.granted...)
		versioned = append(versioned, c.a.versioned...)
	}
	l.release(owner, ids, nil, versioned)
	for _, c := range calls {
		c.a.done <- appendAnswer{err: err}
	}
}

// commitGroup runs one group commit (see above).
func (l *EventLog) commitGroup(group []*appendCall) {
	calls := group[:0:0]
	for _, a := range group {
		if err := a.ctx.Err(); err != nil {
			a.done <- appendAnswer{err: fmt.Errorf("append: %w", err)} // gave up before any claim
			continue
		}
		calls = append(calls, a)
	}
	if len(calls) == 0 {
		return
	}
	// The group's work is no caller's: it has its own deadline, and a caller that gives up
	// changes nothing for the others.
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.AppendTimeout)
	defer cancel()
	owner := l.newOwner()
	var ids []string
	for _, a := range calls {
		a.owner = owner
		ids = append(ids, a.ids...)
	}

	// The ids, all at once.
	written, recover, held, err := l.index.Claim(ctx, owner, ids, l.cfg.ClaimLease)
	if err != nil {
		// The claim may have committed before the error: every id stays in doubt (see
		// claimAll), which costs its next claimer a look only.
		l.release(owner, nil, ids, nil)
		for _, a := range calls {
			a.done <- appendAnswer{err: fmt.Errorf("append: claim event ids: %w", err)}
		}
		return
	}
	l.hook("claimed", calls)
	heldSet := map[string]bool{}
	for _, id := range held {
		heldSet[id] = true
	}
	var ready []*groupCall
	var known []string
	for _, a := range calls {
		own := &claimAnswer{written: map[string]eventlog.Position{}, recover: map[string]time.Time{}}
		for _, id := range a.ids {
			switch {
			case heldSet[id]:
				own.held = append(own.held, id)
			case hasKey(written, id):
				own.written[id] = written[id]
			case hasKey(recover, id):
				own.recover[id] = recover[id]
			}
		}
		if len(own.held) > 0 || len(own.recover) > 0 {
			// To wait for another's claim, or to look in the log: alone, not to hold the group.
			l.goAlone(a, func() appendAnswer { return a.answer(a.run(a.ctx, own)) })
			continue
		}
		c := &groupCall{a: a, positions: own.written, dups: map[string]bool{}}
		for _, id := range a.ids {
			if hasKey(own.written, id) {
				c.dups[id] = true
				known = append(known, id)
			} else {
				a.granted = append(a.granted, id)
			}
		}
		ready = append(ready, c)
	}
	if len(known) > 0 {
		vs, err := l.index.VersionsOf(ctx, known)
		if err != nil {
			l.releaseGroup(owner, ready, fmt.Errorf("append: %w", err))
			return
		}
		for _, c := range ready {
			for id := range c.dups {
				if v, ok := vs[id]; ok {
					c.a.versions[id] = v
				}
			}
		}
	}

	// The versions, each call with its own condition.
	var claiming []*groupCall
	var groups [][]eventindex.StreamClaim
	for _, c := range ready {
		c.fresh = c.a.fresh(c.positions)
		if len(c.fresh) == 0 {
			c.a.done <- c.answer() // duplicates only: answered whatever the version
			continue
		}
		claiming = append(claiming, c)
		groups = append(groups, streamClaims(c.fresh, c.a.expected))
	}
	if len(claiming) == 0 {
		return
	}
	heads, oks, err := l.claimVersionGroups(ctx, owner, groups)
	if err != nil {
		// The claim may have committed: releasing forgets it, nothing was published.
		for _, c := range claiming {
			for _, e := range c.fresh {
				c.a.versioned = append(c.a.versioned, e.ID)
			}
		}
		l.releaseGroup(owner, claiming, fmt.Errorf("append: claim stream versions: %w", err))
		return
	}
	var publishing, conflicts, gone []*groupCall
	var conflictErrs []error
	for i, c := range claiming {
		if oks[i] {
			for j, cl := range groups[i] {
				for k, id := range cl.IDs {
					c.a.versions[id] = heads[i][j].Version + int64(k) + 1
				}
				c.a.versioned = append(c.a.versioned, cl.IDs...)
			}
			publishing = append(publishing, c)
			continue
		}
		if err := conflictOf(groups[i], heads[i]); err != nil {
			conflicts, conflictErrs = append(conflicts, c), append(conflictErrs, err)
			continue
		}
		// Another append is writing a stream, or died: alone, like a held id.
		l.goAlone(c.a, func() appendAnswer { return c.a.answer(c.a.finish(c.a.ctx, c.positions, c.dups, c.fresh)) })
	}
	// A caller that gave up meanwhile publishes nothing: a retry finds its ids free.
	var msgs []*sarama.ProducerMessage
	var sending []*groupCall
	for _, c := range publishing {
		if c.a.ctx.Err() != nil {
			gone = append(gone, c)
			continue
		}
		c.msgs = c.a.messages(c.fresh)
		msgs = append(msgs, c.msgs...)
		sending = append(sending, c)
	}
	if len(conflicts) > 0 || len(gone) > 0 {
		// Released before the answers, so a caller's retry finds its ids free.
		var ids, versioned []string
		for _, c := range append(append([]*groupCall{}, conflicts...), gone...) {
			ids = append(ids, c.a.granted...)
			versioned = append(versioned, c.a.versioned...)
		}
		l.release(owner, ids, nil, versioned)
		for i, c := range conflicts {
			c.a.done <- appendAnswer{err: conflictErrs[i]}
		}
		for _, c := range gone {
			c.a.done <- appendAnswer{err: fmt.Errorf("append: %w", c.a.ctx.Err())}
		}
	}
	if len(msgs) == 0 {
		return
	}

	// The records, all at once; their claims settled in one Confirm (see publish). While they
	// are produced, the next group takes its claims: its calls touch none of these ids and
	// streams (see takeGroup).
	if l.groupHook != nil {
		sent := make([]*appendCall, len(sending))
		for i, c := range sending {
			sent[i] = c.a
		}
		l.hook("publishing", sent)
	}
	l.groupMu.Lock()
	for l.publishing >= maxPublishing {
		l.settled.Wait()
	}
	l.markInflight(sending, 1)
	l.groupMu.Unlock()
	l.active.Add(1) // drain's registration keeps the count above zero
	go func() {
		defer l.active.Done()
		pos, failed := l.publish(owner, msgs)
		for _, c := range sending {
			if err := publishError(c.msgs, failed); err != nil {
				c.a.done <- appendAnswer{err: err}
				continue
			}
			for _, m := range c.msgs {
				id := m.Metadata.(string)
				c.positions[id] = pos[id]
			}
			c.a.done <- c.answer()
		}
		l.groupMu.Lock()
		l.markInflight(sending, -1)
		l.settled.Broadcast()
		l.groupMu.Unlock()
	}()
}

// hook calls groupHook, if a test set one.
func (l *EventLog) hook(stage string, calls []*appendCall) {
	if l.groupHook != nil {
		l.groupHook(stage, calls)
	}
}

// claimVersionGroups claims the versions of several appends, each all or none.
func (l *EventLog) claimVersionGroups(ctx context.Context, owner string, groups [][]eventindex.StreamClaim) ([][]eventindex.StreamHead, []bool, error) {
	if g, ok := l.index.(versionGroupClaimer); ok {
		return g.ClaimVersionGroups(ctx, owner, groups, l.cfg.ClaimLease)
	}
	heads, oks := make([][]eventindex.StreamHead, len(groups)), make([]bool, len(groups))
	for i, g := range groups {
		h, ok, err := l.index.ClaimVersions(ctx, owner, g, l.cfg.ClaimLease)
		if err != nil {
			return nil, nil, err
		}
		heads[i], oks[i] = h, ok
	}
	return heads, oks, nil
}

// conflictOf returns the conflict of claims refused on settled heads (none pending): the
// first stream not at its expected version. Nil when a head is pending: that is waited for.
func conflictOf(claims []eventindex.StreamClaim, heads []eventindex.StreamHead) error {
	for _, h := range heads {
		if h.Pending {
			return nil
		}
	}
	for i, c := range claims {
		if c.Expected != eventlog.ExpectAny && heads[i].Version != c.Expected {
			return &eventlog.ConflictError{Key: c.Key, Expected: c.Expected, Actual: heads[i].Version}
		}
	}
	return nil
}
