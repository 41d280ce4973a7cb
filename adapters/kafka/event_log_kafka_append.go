package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// clockSkew widens the search for an event whose publish is in doubt: the record's timestamp
// comes from the publishing host's clock, the claim's time from the first claimer's.
const clockSkew = time.Minute

// Append validates and encodes every event, claims their ids in the dedup index, claims the
// next versions of their streams for the ones that are new, publishes those and returns once
// the brokers acknowledged them (acks from all in-sync replicas) and the index recorded where.
// It gives up after Config.AppendTimeout: an event is reported written only if it is in the
// log.
//
// Append publishes with sarama's SyncProducer rather than watermill's Publisher, whose
// Publish returns only an error: AppendResult needs each record's partition and offset, which
// SyncProducer.SendMessages sets on each message.
func (l *EventLog) Append(ctx context.Context, events []domain.Event) ([]eventlog.AppendResult, error) {
	return l.appendEvents(ctx, events, eventlog.ExpectAny)
}

// AppendStream is Append with the condition on the stream's version, checked by the index's
// version claim (see StreamIndex): Kafka has no conditional append. A conflict is answered
// before anything is published.
func (l *EventLog) AppendStream(ctx context.Context, teamID, key string, expected int64, events []domain.Event) ([]eventlog.AppendResult, error) {
	if err := eventlog.CheckStreamBatch(teamID, key, expected, events); err != nil {
		return nil, err
	}
	return l.appendEvents(ctx, events, expected)
}

func (l *EventLog) appendEvents(ctx context.Context, events []domain.Event, expected int64) ([]eventlog.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	envelopes, err := eventcodec.MarshalBatch(events)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return []eventlog.AppendResult{}, nil
	}
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.AppendTimeout)
	defer cancel()

	// The first occurrence of an id stands for the batch; repeats report its position.
	a := &appendCall{
		l: l, ctx: ctx, events: events, envelopes: envelopes, first: map[string]int{},
		recovered: map[string]bool{}, expected: expected, versions: map[string]int64{}, streams: map[string][2]string{},
		done: make(chan appendAnswer, 1),
	}
	for i, e := range events {
		if _, ok := a.first[e.ID]; !ok {
			a.first[e.ID] = i
			a.ids = append(a.ids, e.ID)
			a.streams[e.ID] = [2]string{e.TeamID, e.Key}
		}
	}
	// The call joins the next group commit (see commitGroup). If the caller gives up, the
	// group drops the call before claiming, or releases its claims before publishing; a
	// publish under way completes and settles its claims, so a retry learns the truth.
	l.enqueue(a)
	var r appendAnswer
	select {
	case r = <-a.done:
	case <-ctx.Done():
		select {
		case r = <-a.done: // answered meanwhile: the truth beats the deadline
		default:
			return nil, fmt.Errorf("append: kafka did not acknowledge in time: %w", ctx.Err())
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	out := make([]eventlog.AppendResult, len(events))
	for i, e := range events {
		out[i] = eventlog.AppendResult{Position: r.positions[e.ID], Duplicate: r.dups[e.ID] || a.first[e.ID] != i, Version: r.versions[e.ID]}
	}
	return out, nil
}

// appendCall is one Append: its events, its owner token and the claims it holds.
type appendCall struct {
	l *EventLog
	// ctx is the caller's, bounded by AppendTimeout.
	ctx       context.Context
	events    []domain.Event
	envelopes [][]byte
	// first has the index of every id's first event; ids the distinct ids, in order.
	first map[string]int
	ids   []string
	// done receives the call's answer (buffered: nobody waits for a caller).
	done chan appendAnswer

	// owner is the claims' owner token: the group commit's (see commitGroup).
	owner string
	// granted are claims taken fresh (nobody published them); recovered are claims taken
	// over from a claimer that may have published.
	granted   []string
	recovered map[string]bool
	// expected is the version the stream must be at (AppendStream), or ExpectAny.
	expected int64
	// versioned are the ids whose versions this call claimed; versions has every event's.
	versioned []string
	versions  map[string]int64
	// streams has every id's stream (team, key).
	streams map[string][2]string
}

// appendAnswer is what a call is told: its ids' positions, those that were duplicates, their
// versions; or an error.
type appendAnswer struct {
	positions map[string]eventlog.Position
	dups      map[string]bool
	versions  map[string]int64
	err       error
}

// answer is the call's appendAnswer for what run or finish returned.
func (a *appendCall) answer(positions map[string]eventlog.Position, dups map[string]bool, err error) appendAnswer {
	if err != nil {
		return appendAnswer{err: err}
	}
	return appendAnswer{positions: positions, dups: dups, versions: a.versions}
}

// claimAnswer is an answer of DedupIndex.Claim.
type claimAnswer struct {
	written map[string]eventlog.Position
	recover map[string]time.Time
	held    []string
}

// run is a call's append on its own, as a group commit hands it over when its claims need
// waiting or looking (see commitGroup): first is the answer of its first claim.
func (a *appendCall) run(ctx context.Context, first *claimAnswer) (map[string]eventlog.Position, map[string]bool, error) {
	l := a.l
	events := a.events
	positions, since, err := a.claimAll(ctx, a.ids, first)
	if err != nil {
		a.releaseClaims()
		return nil, nil, err
	}
	dups := map[string]bool{}
	for id := range positions {
		dups[id] = true
	}
	// A recovered claim's event may be in the log already: look before publishing.
	found := map[string]eventlog.Position{}
	for id := range a.recovered {
		pos, ok, err := l.lookFor(ctx, events[a.first[id]].Key, id, since[id])
		if err != nil {
			a.releaseClaims()
			return nil, nil, fmt.Errorf("append: look for event %s: %w", id, err)
		}
		if ok {
			found[id] = pos
			positions[id], dups[id] = pos, true
		}
	}
	if len(found) > 0 {
		// Their versions too: an earlier claimer claimed them with the ids.
		if err := l.index.Confirm(context.WithoutCancel(ctx), found); err != nil {
			l.log.Warn("cannot record the positions of recovered events", "events", len(found), "error", errorText(err))
		}
		for id := range found {
			delete(a.recovered, id)
		}
	}

	if len(dups) > 0 {
		var known []string
		for id := range dups {
			known = append(known, id)
		}
		vs, err := l.index.VersionsOf(ctx, known)
		if err != nil {
			a.releaseClaims()
			return nil, nil, fmt.Errorf("append: %w", err)
		}
		maps.Copy(a.versions, vs)
	}
	fresh := a.fresh(positions)
	if len(fresh) == 0 {
		return positions, dups, nil // duplicates only: answered whatever the version
	}
	return a.finish(ctx, positions, dups, fresh)
}

// fresh returns the first events of the ids not written yet, in batch order.
func (a *appendCall) fresh(positions map[string]eventlog.Position) []domain.Event {
	var fresh []domain.Event
	for _, id := range a.ids {
		if _, ok := positions[id]; !ok {
			fresh = append(fresh, a.events[a.first[id]])
		}
	}
	return fresh
}

// finish claims the versions of the call's fresh events on its own, and publishes them.
func (a *appendCall) finish(ctx context.Context, positions map[string]eventlog.Position, dups map[string]bool, fresh []domain.Event) (map[string]eventlog.Position, map[string]bool, error) {
	l := a.l
	if err := a.claimVersions(ctx, fresh); err != nil {
		a.releaseClaims()
		return nil, nil, err
	}
	msgs := a.messages(fresh)
	if err := ctx.Err(); err != nil {
		a.releaseClaims()
		return nil, nil, fmt.Errorf("append: %w", err)
	}
	// The publish outlives a caller that gives up: it always ends with its claims confirmed
	// or released, so a retry sees the truth.
	done := make(chan error, 1)
	l.active.Add(1)
	go func() {
		defer l.active.Done()
		written, failed := l.publish(a.owner, msgs)
		err := publishError(msgs, failed)
		if err == nil {
			maps.Copy(positions, written)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return nil, nil, err
		}
		return positions, dups, nil
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("append: kafka did not acknowledge in time: %w", ctx.Err())
	}
}

// messages returns the records of fresh, with their claimed versions.
func (a *appendCall) messages(fresh []domain.Event) []*sarama.ProducerMessage {
	msgs := make([]*sarama.ProducerMessage, len(fresh))
	for i, e := range fresh {
		msgs[i] = a.l.message(e, a.envelopes[a.first[e.ID]], a.versions[e.ID])
	}
	return msgs
}

// claimAll claims every id (first: the answer of the first claim, taken already), waiting (with backoff) for those another call holds: a live
// claim is not a write. It returns the ids already written, with their positions, and for
// each recovered claim the time since which its event may be in the log.
func (a *appendCall) claimAll(ctx context.Context, ids []string, first *claimAnswer) (map[string]eventlog.Position, map[string]time.Time, error) {
	l := a.l
	positions := map[string]eventlog.Position{}
	since := map[string]time.Time{}
	pending := ids
	bo := newBackoff(5*time.Millisecond, 250*time.Millisecond)
	var checked time.Time
	for len(pending) > 0 {
		var written map[string]eventlog.Position
		var recover map[string]time.Time
		var held []string
		var err error
		if first != nil {
			written, recover, held, first = first.written, first.recover, first.held, nil
		} else {
			written, recover, held, err = l.index.Claim(ctx, a.owner, pending, l.cfg.ClaimLease)
		}
		if err != nil {
			// The claim may have committed before the error (a context ending at that
			// moment): give up whatever this owner got, as maybe written, since a recovered
			// claim must stay in doubt, which costs the next claimer a look only.
			for _, id := range pending {
				a.recovered[id] = true
			}
			return nil, nil, fmt.Errorf("append: claim event ids: %w", err)
		}
		heldSet := map[string]bool{}
		for _, id := range held {
			heldSet[id] = true
		}
		for _, id := range pending {
			switch {
			case heldSet[id]:
			case hasKey(written, id):
				positions[id] = written[id]
			case hasKey(recover, id):
				a.recovered[id] = true
				since[id] = recover[id]
			default:
				a.granted = append(a.granted, id)
			}
		}
		pending = held
		// A held id may be a crashed process's whose event is in the log: its stream's old
		// unconfirmed claims are looked for, at most once per ClaimCheckAfter.
		confirmed := 0
		if len(pending) > 0 && time.Since(checked) >= l.cfg.ClaimCheckAfter {
			checked = time.Now()
			seen := map[[2]string]bool{}
			for _, id := range pending {
				if s := a.streams[id]; !seen[s] {
					seen[s] = true
					n, err := a.confirmPublished(ctx, s[0], s[1])
					if err != nil {
						l.log.Warn("cannot look in the log for a stream's unconfirmed events", "error", errorText(err))
					}
					confirmed += n
				}
			}
		}
		if len(pending) > 0 && confirmed == 0 && !sleep(ctx, bo.NextBackOff()) {
			return nil, nil, fmt.Errorf("append: events %v are being appended by another call: %w", pending, ctx.Err())
		}
	}
	return positions, since, nil
}

// publish sends msgs (their Metadata is their event id) and settles their claims, taken by
// owner: the written ones are confirmed, the others released as maybe written (a broker may
// have stored a record whose acknowledgement was lost), so their next claimer looks for them
// first. It returns the positions of the written ones and the errors of the others.
func (l *EventLog) publish(owner string, msgs []*sarama.ProducerMessage) (map[string]eventlog.Position, map[string]error) {
	failedMsg := map[*sarama.ProducerMessage]error{}
	if err := l.producer.SendMessages(msgs); err != nil {
		var perrs sarama.ProducerErrors
		if !errors.As(err, &perrs) {
			for _, m := range msgs {
				failedMsg[m] = err
			}
		}
		for _, pe := range perrs {
			failedMsg[pe.Msg] = pe.Err
		}
	}
	written := map[string]eventlog.Position{}
	failed := map[string]error{}
	var lost []string
	var firstErr error
	for _, m := range msgs {
		id := m.Metadata.(string)
		if err, ok := failedMsg[m]; ok {
			lost = append(lost, id)
			failed[id] = err
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		written[id] = eventlog.Position{Partition: m.Partition, Offset: m.Offset}
	}
	// Settled with a fresh context: the caller may have given up, the claims must not stay.
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.RequestTimeout)
	defer cancel()
	if err := retryIndex(ctx, func() error { return l.index.Confirm(ctx, written) }); err != nil {
		// The events are in the log: the caller is told so. Their claims expire and the next
		// claimer finds them by looking; their streams' next appender does so at once.
		l.log.Warn("cannot record the positions of written events", "events", len(written), "error", errorText(err))
		ids := slices.Collect(maps.Keys(written))
		if err := l.index.ReleaseVersions(ctx, owner, ids, true); err != nil {
			l.log.Warn("cannot release version claims; their streams wait for their lease", "events", len(ids), "error", errorText(err))
		}
	}
	if len(lost) > 0 {
		if err := retryIndex(ctx, func() error {
			return errors.Join(l.index.Release(ctx, owner, lost, true), l.index.ReleaseVersions(ctx, owner, lost, true))
		}); err != nil {
			l.log.Warn("cannot release claims after a failed publish; they expire with their lease", "events", len(lost), "error", errorText(err))
		}
		l.log.Warn("kafka refused or did not acknowledge events", "events", len(lost), "written", len(written), "error", errorText(firstErr))
	}
	return written, failed
}

// publishError is the error of a call whose records are msgs, after publish failed those in
// failed; nil if none of them failed.
func publishError(msgs []*sarama.ProducerMessage, failed map[string]error) error {
	var n int
	var first error
	for _, m := range msgs {
		if err, ok := failed[m.Metadata.(string)]; ok {
			n++
			if first == nil {
				first = err
			}
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("append: publish %d of %d events: %w", n, len(msgs), first)
}

// releaseClaims gives up the claims of a call that publishes nothing: fresh claims are
// forgotten, recovered ones stay in doubt for the next claimer.
func (a *appendCall) releaseClaims() {
	a.l.release(a.owner, a.granted, slices.Collect(maps.Keys(a.recovered)), a.versioned)
}

// release gives up owner's claims on ids that were not published: forget are forgotten, doubt
// stay in doubt for the next claimer, and the version claims of versions are forgotten.
func (l *EventLog) release(owner string, forget, doubt, versions []string) {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.RequestTimeout)
	defer cancel()
	err := errors.Join(
		l.index.Release(ctx, owner, forget, false),
		l.index.Release(ctx, owner, doubt, true),
		l.index.ReleaseVersions(ctx, owner, versions, false),
	)
	if err != nil {
		l.log.Warn("cannot release claims; they expire with their lease", "error", errorText(err))
	}
}

// retryIndex runs op a few times: the index answering late must not leave claims behind.
func retryIndex(ctx context.Context, op func() error) error {
	bo := newBackoff(50*time.Millisecond, time.Second)
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || attempt == 3 || !sleep(ctx, bo.NextBackOff()) {
			return err
		}
	}
}

// message is the record of one event: key = the event's key (its partition), value = the
// envelope, headers to filter without decoding and to give readers the version (0: none),
// timestamp = now (recovery looks by time).
func (l *EventLog) message(e domain.Event, envelope []byte, version int64) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{
		Topic: l.topic,
		Key:   sarama.StringEncoder(e.Key),
		Value: sarama.ByteEncoder(envelope),
		Headers: []sarama.RecordHeader{
			{Key: []byte(wkafka.UUIDHeaderKey), Value: []byte(e.ID)},
			{Key: []byte(headerTeam), Value: []byte(e.TeamID)},
			{Key: []byte(headerType), Value: []byte(e.Type())},
		},
		Timestamp: time.Now(),
		Metadata:  e.ID,
	}
	if version > 0 {
		m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(headerVersion), Value: strconv.AppendInt(nil, version, 10)})
	}
	return m
}

// lookFor searches the partition of key, from the records written around since, for the event
// id: whether an earlier claimer published it after all. A partition count changed since
// then would hide it (and break per-key order anyway).
func (l *EventLog) lookFor(ctx context.Context, key, eventID string, since time.Time) (eventlog.Position, bool, error) {
	parts, err := l.client.Partitions(l.topic)
	if err != nil {
		return eventlog.Position{}, false, err
	}
	i, err := l.partitioner.Partition(&sarama.ProducerMessage{Topic: l.topic, Key: sarama.StringEncoder(key)}, int32(len(parts)))
	if err != nil {
		return eventlog.Position{}, false, err
	}
	p := parts[i]
	from, err := l.offsets(ctx, []int32{p}, since.Add(-clockSkew).UnixMilli())
	if err != nil {
		return eventlog.Position{}, false, err
	}
	hwm, err := l.offsets(ctx, []int32{p}, sarama.OffsetNewest)
	if err != nil {
		return eventlog.Position{}, false, err
	}
	if from[p] < 0 {
		return eventlog.Position{}, false, nil // nothing written since
	}
	var pos eventlog.Position
	found := false
	err = l.scan(ctx, p, from[p], hwm[p], func(off int64, r *sarama.Record) (bool, error) {
		id, ok := header(r, wkafka.UUIDHeaderKey)
		if !ok {
			ev, err := eventcodec.Unmarshal(r.Value)
			if err != nil {
				return true, nil // not ours to judge here
			}
			id = ev.ID
		}
		if id == eventID {
			pos, found = eventlog.Position{Partition: p, Offset: off}, true
			return false, nil
		}
		return true, nil
	})
	return pos, found, err
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
