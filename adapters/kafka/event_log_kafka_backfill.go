package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/adapters/eventindex"
)

// backfillReport is how often a long backfill logs its progress.
const backfillReport = 5 * time.Second

// backfill brings the stream index up to the topic's end before the log serves: the index is
// the only place Kafka streams' versions and positions are kept, and it may lack some (a
// topic written by a release without versions, a new or lost database). Each partition is
// read from the index's mark (where the last backfill of this topic stopped; the start when
// none) up to its high-water mark, in batches of Config.BackfillBatch records; every event gets its
// row (its header's version, or the next one of its stream in log order when it has none; an
// event the index knows keeps its version, and an unconfirmed claim of it is confirmed). The
// index serializes the batches of concurrent processes: a batch whose mark moved meanwhile
// is dropped and the partition read on from the new mark.
func (l *EventLog) backfill(ctx context.Context) error {
	start := time.Now()
	parts, err := l.partitions()
	if err != nil {
		return fmt.Errorf("kafka: stream index backfill: %w", err)
	}
	hwm, err := l.offsets(ctx, parts, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("kafka: stream index backfill: %w", err)
	}
	marks, err := l.index.BackfillMarks(ctx, l.topic)
	if err != nil {
		return fmt.Errorf("kafka: stream index backfill: %w", err)
	}
	var total int64
	for _, p := range parts {
		total += max(0, hwm[p]-marks[p])
	}
	if total == 0 {
		return nil
	}
	l.log.Info("stream index backfill: reading the topic up to its end before serving", "records", total, "partitions", len(parts))
	b := &backfillRun{l: l, total: total, lastReport: time.Now()}
	for _, p := range parts {
		if err := b.partition(ctx, p, marks[p], hwm[p]); err != nil {
			return fmt.Errorf("kafka: stream index backfill of partition %d: %w", p, err)
		}
	}
	l.log.Info("stream index backfill done", "records_read", b.read, "events_added", b.res.Added,
		"versions_assigned", b.res.Assigned, "claims_confirmed", b.res.Confirmed, "refused", b.res.Refused,
		"skipped_by_other_process", b.skipped, "undecodable", b.undecodable, "took", time.Since(start).Round(time.Millisecond))
	if b.res.Refused > 0 {
		l.log.Warn("stream index backfill: some events could not take their version, another event of their stream holds it; they stay out of their streams", "events", b.res.Refused)
	}
	return nil
}

type backfillRun struct {
	l                    *EventLog
	total, read, skipped int64
	undecodable          int
	res                  eventindex.BackfillResult
	lastReport           time.Time
}

// partition backfills p from from up to to.
func (b *backfillRun) partition(ctx context.Context, p int32, from, to int64) error {
	for from < to {
		var recs []eventindex.LogEvent
		batchFrom := from
		moved := false
		flush := func(next int64) error {
			res, err := b.l.index.Backfill(ctx, b.l.topic, p, batchFrom, next, recs)
			if err != nil {
				return err
			}
			if res.Moved {
				b.skipped += max(0, res.Mark-batchFrom)
				from, moved = res.Mark, true
				return nil
			}
			b.read += next - batchFrom
			b.res.Added += res.Added
			b.res.Assigned += res.Assigned
			b.res.Confirmed += res.Confirmed
			b.res.Refused += res.Refused
			batchFrom, from, recs = next, next, recs[:0]
			if time.Since(b.lastReport) >= backfillReport {
				b.lastReport = time.Now()
				b.l.log.Info("stream index backfill progress", "records_read", b.read, "of", b.total, "partition", p)
			}
			return nil
		}
		err := b.l.scan(ctx, p, from, to, func(off int64, r *sarama.Record) (bool, error) {
			e, ok := logEvent(p, off, r)
			if !ok {
				b.undecodable++
			} else {
				recs = append(recs, e)
			}
			if len(recs) >= b.l.cfg.BackfillBatch {
				if err := flush(off + 1); err != nil || moved {
					return false, err
				}
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		if moved {
			continue
		}
		// The partition's end (gaps left by compaction included).
		if err := flush(to); err != nil {
			return err
		}
	}
	return nil
}

// logEvent reads a record's event id, team, key and version from its key and headers,
// decoding the envelope only when they are missing.
func logEvent(p int32, off int64, r *sarama.Record) (eventindex.LogEvent, bool) {
	e := eventindex.LogEvent{Version: recordVersion(header(r, headerVersion))}
	e.Position.Partition, e.Position.Offset = p, off
	id, okID := header(r, wkafka.UUIDHeaderKey)
	team, okTeam := header(r, headerTeam)
	if okID && okTeam && len(r.Key) > 0 {
		e.EventID, e.TeamID, e.Key = id, team, string(r.Key)
		return e, true
	}
	ev, err := eventcodec.Unmarshal(r.Value)
	if err != nil {
		return e, false
	}
	e.EventID, e.TeamID, e.Key = ev.ID, ev.TeamID, ev.Key
	return e, true
}
