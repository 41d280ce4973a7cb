package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// followWait is how long one follow fetch waits at the broker for a record: a follower gets a
// new record within a round trip of its append, and confirms a quiet topic every followWait.
const followWait = 500 * time.Millisecond

var _ eventlog.Follower = (*EventLog)(nil)

// Follow reads the topic from a cursor without a consumer group (eventlog.Follower): one
// long-polling fetch at a time per broker that leads some partitions, on a client of its own
// (a broker answers one connection's requests in order, so a long poll on the log's shared
// connections would hold up every read and offset lookup to that broker). Nothing is
// committed. A record is judged by its type header before it is decoded.
//
// A read that leaves a partition at its high-water mark confirms it up to when the read was
// sent (every record acknowledged before then is below that mark); caughtUpAsOf is the oldest
// confirmation over the partitions. A failed read (a broker down, a moved leader) is retried
// with backoff on fresh metadata. A record this version cannot decode is never skipped: it is
// retried (logged) and the follower stays behind it, which its caller sees in caughtUpAsOf.
// Follow returns ctx.Err() when ctx ends and ErrClosed when the log closes.
// untilClosed returns a context that also ends when the log closes, so that work in progress
// sees the close.
func (l *EventLog) untilClosed(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-l.closing:
			cancel()
		case <-cctx.Done():
		}
	}()
	return cctx, cancel
}

func (l *EventLog) Follow(ctx context.Context, from eventlog.Cursor, types []string, h func([]eventlog.Record, time.Time)) error {
	if h == nil {
		return errors.New("follow events: handler required")
	}
	if !l.enter() {
		return eventlog.ErrClosed
	}
	defer l.active.Done()
	cctx, cancel := l.untilClosed(ctx)
	defer cancel()
	f := &follower{l: l, h: h, log: l.log.With("reader", "follower"), next: map[int32]int64{},
		size: map[int32]int32{}, confirmed: map[int32]time.Time{}}
	for p, off := range from {
		f.next[p] = off + 1
	}
	if len(types) > 0 {
		f.types = map[string]bool{}
		for _, t := range types {
			f.types[t] = true
		}
	}
	f.run(cctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	return eventlog.ErrClosed
}

type follower struct {
	l     *EventLog
	h     func([]eventlog.Record, time.Time)
	types map[string]bool // nil: every type
	log   *slog.Logger

	// mu serializes the fetch loops' bookkeeping and their calls of h.
	mu        sync.Mutex
	parts     []int32
	next      map[int32]int64     // partition → offset of the next record to read
	size      map[int32]int32     // partition → bytes to fetch (grown for a record larger than fetchBytes)
	confirmed map[int32]time.Time // partition → when the read that found it caught up was sent
	lastRead  time.Time           // of the last successful fetch
}

// run follows until ctx ends, retrying failures with backoff.
func (f *follower) run(ctx context.Context) {
	bo := newBackoff(f.l.cfg.RetryInitial, min(f.l.cfg.RetryMax, 5*time.Second))
	var client sarama.Client
	defer func() {
		if client != nil {
			_ = client.Close()
		}
	}()
	for attempt := 1; ; attempt++ {
		began := time.Now()
		var err error
		if client == nil {
			client, err = sarama.NewClient(f.l.cfg.Brokers, f.l.base)
			if err != nil {
				client = nil
			}
		}
		if err == nil {
			err = f.round(ctx, client)
		}
		if ctx.Err() != nil {
			return
		}
		f.mu.Lock()
		if f.lastRead.After(began) {
			bo.Reset() // it read well before failing: a new failure
			attempt = 1
		}
		f.mu.Unlock()
		wait := bo.NextBackOff()
		f.log.Warn("cannot follow the kafka topic, retrying", "attempt", attempt, "retry_in", wait, "error", errorText(err))
		if !sleep(ctx, wait) {
			return
		}
		if client != nil {
			_ = client.RefreshMetadata(f.l.topic)
		}
	}
}

// round runs one fetch loop per partition leader until one of them fails.
func (f *follower) round(ctx context.Context, client sarama.Client) error {
	parts, err := client.Partitions(f.l.topic)
	if err != nil {
		return err
	}
	parts = slices.Clone(parts)
	slices.Sort(parts)
	byLeader := map[*sarama.Broker][]int32{}
	for _, p := range parts {
		b, err := client.Leader(f.l.topic, p)
		if err != nil {
			return fmt.Errorf("leader of partition %d: %w", p, err)
		}
		byLeader[b] = append(byLeader[b], p)
	}
	f.mu.Lock()
	f.parts = parts
	f.mu.Unlock()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(byLeader))
	for b, ps := range byLeader {
		go func() { errs <- f.fetchLoop(rctx, client, b, ps) }()
	}
	err = <-errs
	cancel()
	for range len(byLeader) - 1 {
		<-errs
	}
	return err
}

// fetchLoop long-polls one broker for its partitions until ctx ends or a fetch fails.
func (f *follower) fetchLoop(ctx context.Context, client sarama.Client, b *sarama.Broker, parts []int32) error {
	for ctx.Err() == nil {
		req := &sarama.FetchRequest{Version: 12, MaxWaitTime: int32(followWait / time.Millisecond), MinBytes: 1,
			Isolation: sarama.ReadUncommitted, SessionEpoch: -1}
		f.mu.Lock()
		for _, p := range parts {
			size := f.size[p]
			if size == 0 {
				size = fetchBytes
			}
			req.AddBlock(f.l.topic, p, f.next[p], size, -1)
			req.MaxBytes += size
		}
		f.mu.Unlock()
		sent := time.Now()
		resp, err := b.Fetch(req)
		if err != nil {
			return err
		}
		if err := f.apply(client, parts, resp, sent); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// apply takes one fetch's records, passes those of the types to h with the caught-up time,
// and moves each partition's next offset.
func (f *follower) apply(client sarama.Client, parts []int32, resp *sarama.FetchResponse, sent time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var recs []eventlog.Record
	var failed error
	for _, p := range parts {
		block := resp.GetBlock(f.l.topic, p)
		if block == nil {
			failed = fmt.Errorf("partition %d: %w", p, sarama.ErrIncompleteResponse)
			break
		}
		if errors.Is(block.Err, sarama.ErrOffsetOutOfRange) {
			if failed = f.restart(client, p); failed != nil {
				break
			}
			continue
		}
		if !errors.Is(block.Err, sarama.ErrNoError) {
			failed = fmt.Errorf("partition %d: %w", p, block.Err) // a moved leader: fresh metadata
			break
		}
		off, progressed, _, err := eachRecord(p, block, f.next[p], func(o int64, r *sarama.Record) (bool, error) {
			rec, keep, err := f.decode(p, o, r)
			if err != nil {
				return false, err // the record is read again
			}
			if keep {
				recs = append(recs, rec)
			}
			return true, nil
		})
		failed = err
		f.next[p] = off
		if failed != nil {
			break
		}
		if !progressed && len(block.RecordsSet) > 0 {
			if f.size[p] >= 64*fetchBytes {
				failed = fmt.Errorf("partition %d: no complete record at offset %d", p, off)
				break
			}
			f.size[p] = max(f.size[p], fetchBytes) * 4
		}
		if off >= block.HighWaterMarkOffset {
			f.confirmed[p] = sent
		}
	}
	if failed == nil {
		f.lastRead = time.Now()
	}
	if len(recs) > 0 || failed == nil {
		f.h(recs, f.caughtUpAsOf())
	}
	return failed
}

// restart moves a partition whose next offset Kafka no longer holds: to its oldest record when
// retention dropped what was next, or when the topic was recreated (its end is below: read the
// new records from their start).
func (f *follower) restart(client sarama.Client, p int32) error {
	oldest, err := client.GetOffset(f.l.topic, p, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("partition %d: %w", p, err)
	}
	f.log.Warn("the followed offset is not in the topic any more: reading on from its oldest record",
		"partition", p, "offset", f.next[p], "oldest", oldest)
	f.next[p] = oldest
	return nil
}

// decode returns the record as an event, and whether it is of the types followed.
func (f *follower) decode(p int32, off int64, r *sarama.Record) (eventlog.Record, bool, error) {
	if t, ok := header(r, headerType); ok && f.types != nil && !f.types[t] {
		return eventlog.Record{}, false, nil // left out without decoding
	}
	e, err := eventcodec.Unmarshal(r.Value)
	if err != nil {
		return eventlog.Record{}, false, fmt.Errorf("follow events: %w at %d-%d: %w", errDecode, p, off, err)
	}
	if f.types != nil && !f.types[e.Type()] {
		return eventlog.Record{}, false, nil
	}
	return eventlog.Record{Position: eventlog.Position{Partition: p, Offset: off}, Event: e,
		Version: recordVersion(header(r, headerVersion))}, true, nil
}

// caughtUpAsOf is the oldest confirmation over the partitions (zero while one has none).
func (f *follower) caughtUpAsOf() time.Time {
	var asOf time.Time
	for i, p := range f.parts {
		c, ok := f.confirmed[p]
		if !ok {
			return time.Time{}
		}
		if i == 0 || c.Before(asOf) {
			asOf = c
		}
	}
	return asOf
}
