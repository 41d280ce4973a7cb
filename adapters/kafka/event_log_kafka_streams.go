package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/adapters/eventindex"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// pointFetchBytes is how much a fetch of one stream's record asks for: a broker returns at
// least the record's whole batch, and a stream's records are rarely next to each other.
const pointFetchBytes = 64 << 10

var _ eventlog.Streams = (*EventLog)(nil)

// claimVersions claims the next versions of the streams of events (fresh ones, in batch
// order) for this call, all at once. A stream another append is writing is waited for; one
// whose writer died is recovered first; one not at the expected version is a conflict.
func (a *appendCall) claimVersions(ctx context.Context, events []domain.Event) error {
	l := a.l
	claims := streamClaims(events, a.expected)
	bo := newBackoff(2*time.Millisecond, 100*time.Millisecond)
	checked := map[[2]string]time.Time{}
	for {
		heads, ok, err := l.index.ClaimVersions(ctx, a.owner, claims, l.cfg.ClaimLease)
		if err != nil {
			// The claim may have committed: releasing forgets it, nothing was published.
			for _, c := range claims {
				a.versioned = append(a.versioned, c.IDs...)
			}
			return fmt.Errorf("append: claim stream versions: %w", err)
		}
		if ok {
			for i, c := range claims {
				for j, id := range c.IDs {
					a.versions[id] = heads[i].Version + int64(j) + 1
				}
				a.versioned = append(a.versioned, c.IDs...)
			}
			return nil
		}
		busy := false
		for i, h := range heads {
			c := claims[i]
			switch {
			case h.Pending && !h.Live:
				if err := a.recoverStream(ctx, c.TeamID, c.Key); err != nil {
					return err
				}
			case h.Pending:
				busy = true
				// A claim older than ClaimCheckAfter may be a dead process's whose events are
				// in the log: look, at most once per ClaimCheckAfter per stream.
				s := [2]string{c.TeamID, c.Key}
				if time.Since(checked[s]) >= l.cfg.ClaimCheckAfter {
					checked[s] = time.Now()
					n, err := a.confirmPublished(ctx, c.TeamID, c.Key)
					if err != nil {
						l.log.Warn("cannot look in the log for a stream's unconfirmed events", "error", errorText(err))
					}
					if n > 0 {
						busy = false // claim again at once
					}
				}
			case c.Expected != eventlog.ExpectAny && h.Version != c.Expected:
				return &eventlog.ConflictError{Key: c.Key, Expected: c.Expected, Actual: h.Version}
			}
		}
		if busy && !sleep(ctx, bo.NextBackOff()) {
			return fmt.Errorf("append: another append to the stream did not finish in time: %w", ctx.Err())
		}
	}
}

// streamClaims groups events (fresh ones, in batch order) by stream: one claim per stream,
// with the call's expected version.
func streamClaims(events []domain.Event, expected int64) []eventindex.StreamClaim {
	var claims []eventindex.StreamClaim
	at := map[[2]string]int{}
	for _, e := range events {
		s := [2]string{e.TeamID, e.Key}
		i, ok := at[s]
		if !ok {
			i = len(claims)
			at[s] = i
			claims = append(claims, eventindex.StreamClaim{TeamID: e.TeamID, Key: e.Key, Expected: expected})
		}
		claims[i].IDs = append(claims[i].IDs, e.ID)
	}
	return claims
}

// recoverStream settles the version claims of an append that died (or whose publish failed):
// the events found in the log are confirmed where they are, the others freed. The idempotent
// producer keeps a partition's records in order without gaps, so the found ones are a prefix.
func (a *appendCall) recoverStream(ctx context.Context, teamID, key string) error {
	l := a.l
	pending, err := l.index.RecoverVersions(ctx, a.owner, teamID, key, l.cfg.ClaimLease)
	if err != nil || len(pending) == 0 {
		return err // none: another call took them over
	}
	ids := make([]string, len(pending))
	found := map[string]eventlog.Position{}
	var missing []string
	for i, p := range pending {
		ids[i] = p.EventID
		pos, ok, err := l.lookFor(ctx, key, p.EventID, p.Since)
		if err == nil && ok && len(missing) > 0 {
			err = fmt.Errorf("version %d is in the log but version %d is not", p.Version, p.Version-int64(len(missing)))
		}
		if err != nil {
			if rerr := l.index.ReleaseVersions(context.WithoutCancel(ctx), a.owner, ids, true); rerr != nil {
				l.log.Warn("cannot release version claims after a failed recovery", "error", errorText(rerr))
			}
			return fmt.Errorf("append: recover stream %s: %w", key, err)
		}
		if ok {
			found[p.EventID] = pos
		} else {
			missing = append(missing, p.EventID)
		}
	}
	l.log.Info("recovered the version claims of an unfinished append", "key", key, "written", len(found), "freed", len(missing))
	ctx = context.WithoutCancel(ctx)
	return errors.Join(l.index.Confirm(ctx, found), l.index.ReleaseVersions(ctx, a.owner, missing, false))
}

// confirmPublished looks in the log for the events of the stream's unconfirmed claims taken
// more than ClaimCheckAfter ago, live or not, and confirms those it finds: an event in the log
// has its version, whoever claimed it, so confirming is what its appender would have done.
// It never frees a claim: an event not found may still be published until the claim's lease
// runs out (recoverStream then frees it). It returns how many it confirmed.
func (a *appendCall) confirmPublished(ctx context.Context, teamID, key string) (int, error) {
	l := a.l
	pending, err := l.index.PendingVersions(ctx, teamID, key, time.Now().Add(-l.cfg.ClaimCheckAfter))
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	found := map[string]eventlog.Position{}
	for _, p := range pending {
		pos, ok, err := l.lookFor(ctx, key, p.EventID, p.Since)
		if err != nil {
			return 0, err
		}
		if !ok {
			break // the found ones are a prefix (see recoverStream)
		}
		found[p.EventID] = pos
	}
	if len(found) == 0 {
		return 0, nil
	}
	if err := l.index.Confirm(context.WithoutCancel(ctx), found); err != nil {
		return 0, err
	}
	l.log.Info("confirmed the published events of an unfinished append", "key", key, "events", len(found))
	return len(found), nil
}

// ReadStream reads the stream's positions from the index, then fetches those records: a
// stream's records are a few among the partition's, so it never scans.
func (l *EventLog) ReadStream(ctx context.Context, teamID, key string, after int64, limit int) ([]eventlog.Record, error) {
	if err := eventlog.CheckStreamRead(teamID, key, after, limit); err != nil {
		return nil, err
	}
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()
	vps, err := l.index.StreamPositions(ctx, teamID, key, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read stream: %w", err)
	}
	byPart := map[int32][]int64{}
	for _, vp := range vps {
		byPart[vp.Position.Partition] = append(byPart[vp.Position.Partition], vp.Position.Offset)
	}
	got := map[eventlog.Position]*sarama.Record{}
	for p, offs := range byPart {
		if err := l.fetchOffsets(ctx, p, offs, func(off int64, r *sarama.Record) { got[eventlog.Position{Partition: p, Offset: off}] = r }); err != nil {
			return nil, fmt.Errorf("read stream: %w", err)
		}
	}
	out := make([]eventlog.Record, 0, len(vps))
	for _, vp := range vps {
		e, err := eventcodec.Unmarshal(got[vp.Position].Value)
		if err != nil {
			return nil, fmt.Errorf("read stream: %w at %v: %w", errDecode, vp.Position, err)
		}
		if e.TeamID != teamID || e.Key != key {
			return nil, fmt.Errorf("read stream: the index puts version %d of %s at %v, which holds another stream's event", vp.Version, key, vp.Position)
		}
		out = append(out, eventlog.Record{Position: vp.Position, Event: e, Version: vp.Version})
	}
	return out, nil
}

// fetchOffsets fetches partition p's records at offs, passing each to fn. Each fetch starts at
// the first offset not yet seen and serves every wanted offset its batches hold.
func (l *EventLog) fetchOffsets(ctx context.Context, p int32, offs []int64, fn func(off int64, r *sarama.Record)) error {
	offs = slices.Clone(offs)
	slices.Sort(offs)
	want := map[int64]bool{}
	for _, o := range offs {
		want[o] = true
	}
	size := int32(pointFetchBytes)
	failures := 0
	for i := 0; i < len(offs); {
		if err := ctx.Err(); err != nil {
			return err
		}
		block, err := l.fetch(p, offs[i], size)
		if err == nil && !errors.Is(block.Err, sarama.ErrNoError) {
			err = block.Err
		}
		if err != nil {
			failures++
			if errors.Is(err, sarama.ErrOffsetOutOfRange) || !l.mayRetry(ctx, failures, err) {
				return fmt.Errorf("fetch partition %d at %d: %w", p, offs[i], err)
			}
			continue
		}
		failures = 0
		for _, rs := range block.RecordsSet {
			b := rs.RecordBatch
			if b == nil || b.Control || b.PartialTrailingRecord {
				continue
			}
			for _, r := range b.Records {
				if o := b.FirstOffset + r.OffsetDelta; want[o] {
					fn(o, r)
					delete(want, o)
				}
			}
		}
		progressed := false
		for i < len(offs) && !want[offs[i]] {
			i, progressed = i+1, true
		}
		if !progressed {
			if size >= 64*pointFetchBytes {
				return fmt.Errorf("partition %d: no record at offset %d", p, offs[i])
			}
			size *= 4
		}
	}
	return nil
}

// recordVersion is the version a record carries in its header; 0 without one.
func recordVersion(value string, ok bool) int64 {
	if !ok {
		return 0
	}
	v, err := strconv.ParseInt(value, 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}
