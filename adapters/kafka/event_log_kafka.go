// Package kafka is the event log at scale: one Kafka topic, written with IBM/sarama's
// idempotent producer and consumed through watermill-kafka consumer groups, one group per
// projection. Each event is a record whose key is the event's key, so everything about one
// prospect sits in one partition, in order, and its offset is the per-key version
// projections use. The record value is the stored envelope (adapters/eventcodec), the same
// bytes as the embedded log's. Duplicate event ids are refused with a DedupIndex, since Kafka
// has no unique key.
//
// Keys are spread with sarama's hash partitioner (FNV-1a), not the Java client's murmur2:
// another program producing to the topic must use the same, and the partition count must
// never change (a key would move, and its order and version with it).
package kafka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// EventLog is the Kafka event log. It is safe for concurrent use.
type EventLog struct {
	cfg   Config
	topic string
	log   *slog.Logger
	index DedupIndex

	// client serves reads, offsets, metadata and checkpoints; the producer has its own
	// connections (an idempotent producer allows one request in flight per broker), and so
	// does every consumer group.
	client   sarama.Client
	base     *sarama.Config // the client's
	producer sarama.SyncProducer
	// partitioner is the producer's, to find the partition of a key when recovering a claim.
	partitioner sarama.Partitioner

	instance   string        // prefix of this log's claim owner tokens
	calls      atomic.Uint64 // suffix of the next one
	refreshing atomic.Bool   // a background metadata refresh is running

	// groupMu guards queue, the appends waiting for the next group commit, and draining,
	// whether a goroutine runs group commits (see enqueue).
	groupMu  sync.Mutex
	queue    []*appendCall
	draining bool
	// inflight has the ids and streams of the groups being published, and their number;
	// settled signals (on groupMu) when one is done.
	inflight   map[any]int
	publishing int
	settled    *sync.Cond
	// groupHook, set by tests only, is called at the stages of a group commit: "claimed"
	// (its ids are claimed) and "publishing" (its records are about to be sent).
	groupHook func(stage string, calls []*appendCall)

	// mu guards closed and the start of every call: Close waits for calls in flight, and
	// for publishes that outlived their caller, before closing the clients.
	mu      sync.Mutex
	closed  bool
	active  sync.WaitGroup
	closing chan struct{}
	once    sync.Once
	err     error
}

var _ eventlog.Log = (*EventLog)(nil)

// OpenEventLog connects to the brokers, creates the topic if it is missing, brings the stream
// index up to the topic's end (see backfill) and starts the producer. It fails if Kafka cannot be reached; once open, the log rides out outages (calls
// fail with an error meanwhile) and recovers by itself.
func OpenEventLog(ctx context.Context, cfg Config) (_ *EventLog, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base, err := cfg.baseConfig()
	if err != nil {
		return nil, err
	}
	pcfg, err := cfg.producerConfig()
	if err != nil {
		return nil, err
	}
	if _, err := cfg.consumerConfig(); err != nil {
		return nil, err
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	l := &EventLog{
		cfg:         cfg,
		base:        base,
		topic:       cfg.Topic,
		log:         cfg.Logger.With("component", "kafka_event_log", "topic", cfg.Topic),
		index:       cfg.Index,
		partitioner: pcfg.Producer.Partitioner(cfg.Topic),
		instance:    "kafka-" + hex.EncodeToString(suffix[:]),
		closing:     make(chan struct{}),
		inflight:    map[any]int{},
	}
	l.settled = sync.NewCond(&l.groupMu)
	defer func() {
		if err != nil {
			if l.producer != nil {
				_ = l.producer.Close()
			}
			if l.client != nil {
				_ = l.client.Close()
			}
		}
	}()
	if l.client, err = sarama.NewClient(cfg.Brokers, base); err != nil {
		return nil, fmt.Errorf("kafka: connect to %v: %w", cfg.Brokers, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.ensureTopic(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.backfill(ctx); err != nil {
		return nil, err
	}
	if l.producer, err = sarama.NewSyncProducer(cfg.Brokers, pcfg); err != nil {
		return nil, fmt.Errorf("kafka: start producer: %w", err)
	}
	return l, nil
}

// ensureTopic creates the topic when missing. Retention is unlimited: the log is the only
// source of truth, and Kafka's default would delete events after a week.
func (l *EventLog) ensureTopic() error {
	admin, err := sarama.NewClusterAdminFromClient(l.client)
	if err != nil {
		return fmt.Errorf("kafka: admin: %w", err)
	}
	// Not closed: that would close the shared client.
	minISR := "1"
	if l.cfg.ReplicationFactor >= 3 {
		minISR = "2" // with acks from all in-sync replicas, one broker may fail without losing a write
	}
	unlimited := "-1"
	err = admin.CreateTopic(l.topic, &sarama.TopicDetail{
		NumPartitions:     l.cfg.Partitions,
		ReplicationFactor: l.cfg.ReplicationFactor,
		ConfigEntries: map[string]*string{
			"retention.ms":        &unlimited,
			"retention.bytes":     &unlimited,
			"min.insync.replicas": &minISR,
		},
	}, false)
	switch {
	case err == nil:
		l.log.Info("created the events topic", "partitions", l.cfg.Partitions, "replication_factor", l.cfg.ReplicationFactor)
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
	default:
		var te *sarama.TopicError
		if !errors.As(err, &te) || !errors.Is(te.Err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("kafka: create topic %s: %w", l.topic, err)
		}
	}
	// The new topic's metadata may take a moment to reach every broker.
	deadline := time.Now().Add(l.cfg.RequestTimeout)
	for {
		err := l.client.RefreshMetadata(l.topic)
		if err == nil {
			var parts []int32
			if parts, err = l.client.Partitions(l.topic); err == nil && len(parts) > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kafka: topic %s has no partitions: %w", l.topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// enter registers a call in flight, or reports that the log is closed.
func (l *EventLog) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.active.Add(1)
	return true
}

// Close refuses new calls, stops consumers (they return ErrClosed), waits for calls and
// publishes in flight, then closes the producer and the client. Closing again does nothing.
// The dedup index stays open: it belongs to the caller.
func (l *EventLog) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.closing)
		l.active.Wait()
		l.err = errors.Join(l.producer.Close(), l.client.Close())
	})
	return l.err
}

// Ping asks a broker for the topic's metadata, within a short timeout.
func (l *EventLog) Ping(ctx context.Context) error {
	if !l.enter() {
		return eventlog.ErrClosed
	}
	defer l.active.Done()
	ctx, cancel := context.WithTimeout(ctx, min(5*time.Second, l.cfg.RequestTimeout))
	defer cancel()
	return l.bounded(ctx, "ping kafka", func() error {
		if err := l.client.RefreshMetadata(l.topic); err != nil {
			return err
		}
		if parts, err := l.client.Partitions(l.topic); err != nil || len(parts) == 0 {
			return fmt.Errorf("topic %s has no partitions: %v", l.topic, err)
		}
		return nil
	})
}

// bounded runs op, which cannot be cancelled, but returns when ctx ends. op keeps its call
// registered, so Close waits for it.
func (l *EventLog) bounded(ctx context.Context, what string, op func() error) error {
	done := make(chan error, 1)
	l.active.Add(1)
	go func() {
		defer l.active.Done()
		done <- op()
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

// Head returns, for every non-empty partition, the offset below its high-water mark.
func (l *EventLog) Head(ctx context.Context) (eventlog.Cursor, error) {
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()
	parts, err := l.partitions()
	if err != nil {
		return nil, fmt.Errorf("event log head: %w", err)
	}
	hwm, err := l.offsets(ctx, parts, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("event log head: %w", err)
	}
	c := eventlog.Cursor{}
	for p, next := range hwm {
		if next > 0 {
			c[p] = next - 1
		}
	}
	return c, nil
}

// Oldest returns the log start offset of every partition: what retention or deleted records
// left (eventlog.Retention).
func (l *EventLog) Oldest(ctx context.Context) (eventlog.Cursor, error) {
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()
	parts, err := l.partitions()
	if err != nil {
		return nil, fmt.Errorf("event log start: %w", err)
	}
	start, err := l.offsets(ctx, parts, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("event log start: %w", err)
	}
	return eventlog.Cursor(start), nil
}

// partitions returns the topic's partitions, in order.
func (l *EventLog) partitions() ([]int32, error) {
	parts, err := l.client.Partitions(l.topic)
	if err != nil {
		return nil, err
	}
	parts = slices.Clone(parts)
	slices.Sort(parts)
	return parts, nil
}

// offsets asks the partitions' leaders, one request per broker, for an offset of each: the
// high-water mark (sarama.OffsetNewest), the log start (sarama.OffsetOldest), or the first
// offset at or after a time in ms (-1 when there is none).
func (l *EventLog) offsets(ctx context.Context, parts []int32, at int64) (map[int32]int64, error) {
	out := make(map[int32]int64, len(parts))
	todo := parts
	for attempt := 1; len(todo) > 0; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var retry []int32
		var lastErr error
		byLeader := map[*sarama.Broker][]int32{}
		for _, p := range todo {
			b, err := l.leader(p)
			if errors.Is(err, errUnreachable) {
				return nil, fmt.Errorf("list offsets: %w", err)
			}
			if err != nil {
				retry, lastErr = append(retry, p), err
				continue
			}
			byLeader[b] = append(byLeader[b], p)
		}
		for b, ps := range byLeader {
			req := sarama.NewOffsetRequest(kafkaVersion)
			for _, p := range ps {
				req.AddBlock(l.topic, p, at, 1)
			}
			resp, err := b.GetAvailableOffsets(req)
			if err != nil {
				retry, lastErr = append(retry, ps...), err
				continue
			}
			for _, p := range ps {
				blk := resp.GetBlock(l.topic, p)
				switch {
				case blk == nil:
					retry, lastErr = append(retry, p), sarama.ErrIncompleteResponse
				case !errors.Is(blk.Err, sarama.ErrNoError):
					retry, lastErr = append(retry, p), blk.Err
				case req.Version == 0 && len(blk.Offsets) > 0:
					out[p] = blk.Offsets[0]
				default:
					out[p] = blk.Offset
				}
			}
		}
		if len(retry) == 0 {
			break
		}
		if !l.mayRetry(ctx, attempt, lastErr) {
			return nil, fmt.Errorf("list offsets: %w", lastErr)
		}
		todo = retry
	}
	return out, nil
}

// errUnreachable marks a failure after which sarama already tried every broker.
var errUnreachable = errors.New("no kafka broker answers")

// leader returns p's leader. When no broker answers, the error wraps errUnreachable: the
// client has just tried to refresh its metadata, so asking again for another partition would
// only wait as long again.
func (l *EventLog) leader(p int32) (*sarama.Broker, error) {
	b, err := l.client.Leader(l.topic, p)
	var kerr sarama.KError
	if err != nil && !errors.As(err, &kerr) {
		return nil, fmt.Errorf("%w: %w", errUnreachable, err)
	}
	return b, err
}

// mayRetry decides after a failed request to the brokers. A broker's answer (a Kafka error
// code: a leader moved, a topic is being created) is retried with fresh metadata, a few
// times. A network failure is retried once at once (sarama reconnects), while metadata is
// refreshed in the background: a call must fail fast while Kafka is unreachable.
func (l *EventLog) mayRetry(ctx context.Context, attempt int, err error) bool {
	if errors.Is(err, errUnreachable) {
		return false
	}
	var kerr sarama.KError
	if !errors.As(err, &kerr) {
		l.refreshSoon()
		return attempt < 2
	}
	if attempt >= 3 {
		return false
	}
	_ = l.client.RefreshMetadata(l.topic)
	return sleep(ctx, time.Duration(attempt)*100*time.Millisecond)
}

// refreshSoon refreshes the topic's metadata in the background, once at a time, so the next
// call finds moved brokers.
func (l *EventLog) refreshSoon() {
	if !l.refreshing.CompareAndSwap(false, true) {
		return
	}
	if !l.enter() {
		l.refreshing.Store(false)
		return
	}
	go func() {
		defer l.active.Done()
		defer l.refreshing.Store(false)
		_ = l.client.RefreshMetadata(l.topic)
	}()
}

// newOwner returns a claim owner token no other call uses.
func (l *EventLog) newOwner() string {
	return l.instance + "-" + strconv.FormatUint(l.calls.Add(1), 36)
}

// sleep waits for d, reporting false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
