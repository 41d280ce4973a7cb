package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cenkalti/backoff/v5"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// Consume delivers the group's records to h in batches, through a watermill-kafka subscriber
// in the consumer group named group (one group per projection; a new group starts at the
// oldest offset). Several processes consuming one group share its partitions.
//
// Batching. watermill-kafka hands over one message per partition at a time and marks its
// offset when it is acked, so acking only after the handler would make every batch at most
// one record per partition: one handler round trip per event. So Consume acks each message
// as it collects it, and the subscriber's session is wrapped (through watermill-kafka's
// tracer hook) so that an ack marks nothing: the log marks and commits the batch's offsets
// itself, only after h returned nil. A batch h refuses is delivered again, the same records,
// after an exponential backoff; Kafka's checkpoint never moves past it.
//
// Consume returns ctx.Err() when ctx ends and ErrClosed when the log closes; it returns
// another error only for a record it cannot decode. An unreachable Kafka is waited out.
func (l *EventLog) Consume(ctx context.Context, group string, h eventlog.Handler) error {
	return l.ConsumeTypes(ctx, group, nil, h)
}

// ConsumeTypes is Consume for only the records of types (every record when empty): a record
// is judged by its type header, without decoding its value (a record without the header, from
// another producer, is decoded to learn its type). The offsets of the records left out are
// committed with the batch's, and a batch left out whole is committed without calling h.
func (l *EventLog) ConsumeTypes(ctx context.Context, group string, types []string, h eventlog.Handler) error {
	if group == "" {
		return errors.New("consume events: group required")
	}
	if h == nil {
		return errors.New("consume events: handler required")
	}
	if !l.enter() {
		return eventlog.ErrClosed
	}
	defer l.active.Done()

	// cctx also ends when the log closes, so a handler in progress sees it.
	cctx, cancel := l.untilClosed(ctx)
	defer cancel()
	c := &groupConsumer{l: l, group: group, h: h, log: l.log.With("group", group), sessions: &sessionTracker{}}
	if len(types) > 0 {
		c.types = map[string]bool{}
		for _, t := range types {
			c.types[t] = true
		}
	}
	err := c.run(cctx)
	if cctx.Err() != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		return eventlog.ErrClosed
	}
	return err
}

type groupConsumer struct {
	l        *EventLog
	group    string
	h        eventlog.Handler
	log      *slog.Logger
	sessions *sessionTracker
	types    map[string]bool // nil: every type
}

// errSubscriptionEnded is a subscriber that stopped by itself: subscribe again.
var errSubscriptionEnded = errors.New("subscription ended")

func (c *groupConsumer) run(ctx context.Context) error {
	bo := newBackoff(c.l.cfg.RetryInitial, c.l.cfg.RetryMax)
	for attempt := 1; ; attempt++ {
		sub, msgs, err := c.subscribe(ctx)
		if err == nil {
			bo.Reset()
			err = c.deliverAll(ctx, msgs)
			// Close waits until the member left the group, so the group's next consumer (or a
			// SetCheckpoint) does not wait for this one's session to time out.
			if cerr := sub.Close(); cerr != nil {
				c.log.Warn("cannot close the kafka subscriber", "error", errorText(cerr))
			}
			if !errors.Is(err, errSubscriptionEnded) { // deliverAll ends only with an error
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := bo.NextBackOff()
		c.log.Error("cannot consume from kafka, retrying", "attempt", attempt, "retry_in", wait, "error", errorText(err))
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

func (c *groupConsumer) subscribe(ctx context.Context) (*wkafka.Subscriber, <-chan *message.Message, error) {
	scfg, err := c.l.cfg.consumerConfig()
	if err != nil {
		return nil, nil, err
	}
	sub, err := wkafka.NewSubscriber(wkafka.SubscriberConfig{
		Brokers:               c.l.cfg.Brokers,
		Unmarshaler:           envelopeUnmarshaler{},
		OverwriteSaramaConfig: scfg,
		ConsumerGroup:         c.group,
		NackResendSleep:       wkafka.NoSleep, // never nacked: see Consume
		ReconnectRetrySleep:   min(time.Second, c.l.cfg.RetryMax),
		Tracer:                deferredCommits{sessions: c.sessions},
	}, watermillLogger{l: c.log})
	if err != nil {
		return nil, nil, err
	}
	msgs, err := sub.Subscribe(ctx, c.l.topic)
	if err != nil {
		_ = sub.Close()
		return nil, nil, err
	}
	return sub, msgs, nil
}

// deliverAll collects batches from msgs and delivers them until ctx ends.
func (c *groupConsumer) deliverAll(ctx context.Context, msgs <-chan *message.Message) error {
	for {
		batch, err := c.collect(ctx, msgs)
		if err != nil {
			return err
		}
		recs := make([]eventlog.Record, 0, len(batch))
		next := map[int32]int64{} // every record's, delivered or left out
		for _, m := range batch {
			pos, err := position(m)
			if err != nil {
				return err
			}
			next[pos.Partition] = max(next[pos.Partition], pos.Offset+1)
			if t := m.Metadata.Get(headerType); c.types != nil && t != "" && !c.types[t] {
				continue // left out without decoding
			}
			e, err := eventcodec.Unmarshal(m.Payload)
			if err != nil {
				return fmt.Errorf("consume events: %w at %v: %w", errDecode, pos, err)
			}
			if c.types != nil && !c.types[e.Type()] {
				continue
			}
			recs = append(recs, eventlog.Record{Position: pos, Event: e, Version: recordVersion(m.Metadata.Get(headerVersion), true)})
		}
		if err := c.deliver(ctx, recs, next); err != nil {
			return err
		}
	}
}

// collect waits for a message, then takes what else arrives within BatchWait, up to
// BatchSize. Each is acked at once: that only lets its partition's next message come (see
// Consume).
func (c *groupConsumer) collect(ctx context.Context, msgs <-chan *message.Message) ([]*message.Message, error) {
	var batch []*message.Message
	select {
	case m, ok := <-msgs:
		if !ok {
			return nil, errSubscriptionEnded
		}
		m.Ack()
		batch = append(batch, m)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	timer := time.NewTimer(c.l.cfg.BatchWait)
	defer timer.Stop()
	for len(batch) < c.l.cfg.BatchSize {
		select {
		case m, ok := <-msgs:
			if !ok {
				return batch, nil
			}
			m.Ack()
			batch = append(batch, m)
		case <-timer.C:
			return batch, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return batch, nil
}

// deliver hands recs (if any) to the handler until it accepts them, then commits next
// (partition → offset of the next record to read). The log line names positions and the
// error, never an event's content.
func (c *groupConsumer) deliver(ctx context.Context, recs []eventlog.Record, next map[int32]int64) error {
	bo := newBackoff(c.l.cfg.RetryInitial, c.l.cfg.RetryMax)
	for attempt := 1; len(recs) > 0; attempt++ {
		first, last := recs[0].Position, recs[len(recs)-1].Position
		err := c.h(ctx, recs)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := bo.NextBackOff()
		c.log.Warn("event handler failed, redelivering", "from", first.String(), "to", last.String(),
			"records", len(recs), "attempt", attempt, "retry_in", wait, "error", errorText(err))
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
	// Committed even if the consumer is being stopped: the handler did its work.
	if revoked := c.sessions.commit(c.l.topic, next); len(revoked) > 0 {
		c.log.Info("partitions moved to another consumer before their batch was committed; it will see those records again",
			"partitions", revoked)
	}
	return nil
}

// position is where watermill-kafka says the message was read.
func position(m *message.Message) (eventlog.Position, error) {
	p, ok1 := wkafka.MessagePartitionFromCtx(m.Context())
	o, ok2 := wkafka.MessagePartitionOffsetFromCtx(m.Context())
	if !ok1 || !ok2 {
		return eventlog.Position{}, errors.New("consume events: a message without its partition and offset")
	}
	return eventlog.Position{Partition: p, Offset: o}, nil
}

// envelopeUnmarshaler keeps the record's value as the message payload; the event id (in
// watermill's UUID header) is the message id, and the version header a metadata entry.
type envelopeUnmarshaler struct{}

func (envelopeUnmarshaler) Unmarshal(m *sarama.ConsumerMessage) (*message.Message, error) {
	var id, version, typ string
	for _, h := range m.Headers {
		switch {
		case h == nil:
		case string(h.Key) == wkafka.UUIDHeaderKey:
			id = string(h.Value)
		case string(h.Key) == headerVersion:
			version = string(h.Value)
		case string(h.Key) == headerType:
			typ = string(h.Value)
		}
	}
	msg := message.NewMessage(id, m.Value)
	if version != "" {
		msg.Metadata.Set(headerVersion, version)
	}
	if typ != "" {
		msg.Metadata.Set(headerType, typ)
	}
	return msg, nil
}

// sessionTracker knows which live group session holds each partition, so a batch's offsets
// are marked in the session that may still commit them.
type sessionTracker struct {
	mu     sync.Mutex
	byPart map[int32]sarama.ConsumerGroupSession
}

func (t *sessionTracker) claimed(p int32, s sarama.ConsumerGroupSession) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byPart == nil {
		t.byPart = map[int32]sarama.ConsumerGroupSession{}
	}
	t.byPart[p] = s
}

// released forgets p's session. It waits for a commit in progress: sarama closes a session's
// offset manager only after its claims returned, so commit never meets a closed one.
func (t *sessionTracker) released(p int32, s sarama.ConsumerGroupSession) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byPart[p] == s {
		delete(t.byPart, p)
	}
}

// commit marks next (partition → offset of the next record to read) in the sessions holding
// those partitions and commits synchronously. It returns the partitions no session holds.
func (t *sessionTracker) commit(topic string, next map[int32]int64) (revoked []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	touched := map[sarama.ConsumerGroupSession]bool{}
	for p, off := range next {
		// A session still listed has not released its claims (released waits for this
		// lock), so its offset manager is open, even if the session is ending: committing
		// then saves a redelivery. After a rebalance the broker refuses the commit (sarama
		// reports it) and the partition's next owner gets the records again.
		s := t.byPart[p]
		if s == nil {
			revoked = append(revoked, p)
			continue
		}
		s.MarkOffset(topic, p, off, "")
		touched[s] = true
	}
	for s := range touched {
		s.Commit()
	}
	return revoked
}

// deferredCommits is a watermill-kafka tracer that only wraps the consumer group handler
// (see Consume); the rest passes through.
type deferredCommits struct{ sessions *sessionTracker }

func (d deferredCommits) WrapConsumer(c sarama.Consumer) sarama.Consumer { return c }
func (d deferredCommits) WrapPartitionConsumer(pc sarama.PartitionConsumer) sarama.PartitionConsumer {
	return pc
}
func (d deferredCommits) WrapSyncProducer(_ *sarama.Config, p sarama.SyncProducer) sarama.SyncProducer {
	return p
}
func (d deferredCommits) WrapConsumerGroupHandler(h sarama.ConsumerGroupHandler) sarama.ConsumerGroupHandler {
	return deferredHandler{inner: h, sessions: d.sessions}
}

type deferredHandler struct {
	inner    sarama.ConsumerGroupHandler
	sessions *sessionTracker
}

func (h deferredHandler) Setup(s sarama.ConsumerGroupSession) error   { return h.inner.Setup(s) }
func (h deferredHandler) Cleanup(s sarama.ConsumerGroupSession) error { return h.inner.Cleanup(s) }

func (h deferredHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	h.sessions.claimed(claim.Partition(), s)
	defer h.sessions.released(claim.Partition(), s)
	return h.inner.ConsumeClaim(unmarkedSession{s}, claim)
}

// unmarkedSession is the session watermill-kafka sees: its acks mark and commit nothing.
type unmarkedSession struct{ sarama.ConsumerGroupSession }

func (unmarkedSession) MarkMessage(*sarama.ConsumerMessage, string) {}
func (unmarkedSession) MarkOffset(string, int32, int64, string)     {}
func (unmarkedSession) ResetOffset(string, int32, int64, string)    {}
func (unmarkedSession) Commit()                                     {}

// SetCheckpoint commits the group's offsets so that its next Consume starts after c: each
// partition after c's offset, or at its oldest record when c does not name it. Kafka refuses
// it while the group has members.
func (l *EventLog) SetCheckpoint(ctx context.Context, group string, c eventlog.Cursor) error {
	if group == "" {
		return errors.New("set checkpoint: group required")
	}
	if !l.enter() {
		return eventlog.ErrClosed
	}
	defer l.active.Done()
	parts, err := l.partitions()
	if err != nil {
		return fmt.Errorf("set checkpoint: %w", err)
	}
	next := map[int32]int64{}
	var missing []int32
	for _, p := range parts {
		if off, ok := c[p]; ok {
			next[p] = off + 1
		} else {
			missing = append(missing, p)
		}
	}
	if len(next) != len(c) {
		return fmt.Errorf("set checkpoint: cursor %s names partitions topic %s does not have", c, l.topic)
	}
	if len(c) > 0 {
		// A checkpoint past the end (a recreated topic) would make Kafka reset the group to
		// the oldest offset, and a projection that skips positions it already applied would
		// then skip real events: refuse it.
		var named []int32
		for p := range c {
			named = append(named, p)
		}
		hwm, err := l.offsets(ctx, named, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("set checkpoint: %w", err)
		}
		for p, n := range hwm {
			if next[p] > n {
				return fmt.Errorf("set checkpoint: cursor %s is past the end of topic %s (partition %d ends at %d): was the topic recreated?", c, l.topic, p, n-1)
			}
		}
	}
	if len(missing) > 0 {
		oldest, err := l.offsets(ctx, missing, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("set checkpoint: %w", err)
		}
		for p, off := range oldest {
			next[p] = off
		}
	}
	for attempt := 1; ; attempt++ {
		err := l.commitOffsets(group, next)
		if err == nil {
			return nil
		}
		if attempt == 3 || errors.Is(err, errGroupBusy) {
			return fmt.Errorf("set checkpoint of group %s: %w", group, err)
		}
		_ = l.client.RefreshCoordinator(group)
		if !sleep(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
}

var errGroupBusy = errors.New("the group is consuming; stop its consumers first")

// commitOffsets commits as no member (generation -1), which Kafka accepts only from an
// empty group.
func (l *EventLog) commitOffsets(group string, next map[int32]int64) error {
	coord, err := l.client.Coordinator(group)
	if err != nil {
		return err
	}
	req := sarama.NewOffsetCommitRequest(l.base, group)
	for p, off := range next {
		req.AddBlock(l.topic, p, off, 0, "")
	}
	resp, err := coord.CommitOffset(req)
	if err != nil {
		return err
	}
	for p := range next {
		kerr := resp.Errors[l.topic][p]
		switch {
		case errors.Is(kerr, sarama.ErrNoError):
		case errors.Is(kerr, sarama.ErrUnknownMemberId), errors.Is(kerr, sarama.ErrIllegalGeneration), errors.Is(kerr, sarama.ErrRebalanceInProgress):
			return fmt.Errorf("%w (%v)", errGroupBusy, kerr)
		default:
			return fmt.Errorf("partition %d: %w", p, kerr)
		}
	}
	return nil
}

func newBackoff(initial, maxInterval time.Duration) *backoff.ExponentialBackOff {
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     initial,
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         maxInterval,
	}
	bo.Reset()
	return bo
}
