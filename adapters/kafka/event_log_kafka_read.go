package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// fetchBytes is how much one fetch asks for per partition; a broker still returns a larger
// first batch whole, so a big record never blocks a read.
const fetchBytes = 1 << 20

// errDecode marks a record that is not an event this version can decode: retrying cannot help.
var errDecode = errors.New("undecodable event")

// Read returns up to q.Limit of the team's events after q.After: the partitions in order,
// each from the cursor up to its high-water mark at the time of the call, in offset order.
// Each partition contributes a prefix of its matching records, so paging with the returned
// positions never skips one. Kafka has no index: a read scans the topic from the cursor,
// skipping other teams' records by their headers without decoding them.
func (l *EventLog) Read(ctx context.Context, q eventlog.Query) ([]eventlog.Record, error) {
	if q.TeamID == "" {
		return nil, errors.New("read events: team id required")
	}
	if q.Limit <= 0 {
		return nil, errors.New("read events: limit must be positive")
	}
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()
	parts, err := l.partitions()
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	hwm, err := l.offsets(ctx, parts, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	var out []eventlog.Record
	for _, p := range parts {
		from := int64(0)
		if off, ok := q.After[p]; ok {
			from = off + 1
		}
		if from >= hwm[p] {
			continue
		}
		err := l.scan(ctx, p, from, hwm[p], func(off int64, r *sarama.Record) (bool, error) {
			if !mayMatch(r, q) {
				return true, nil
			}
			e, err := eventcodec.Unmarshal(r.Value)
			if err != nil {
				return false, fmt.Errorf("%w at %d-%d: %w", errDecode, p, off, err)
			}
			if e.TeamID != q.TeamID || (q.Key != "" && e.Key != q.Key) || (len(q.Types) > 0 && !slices.Contains(q.Types, e.Type())) ||
				(!q.From.IsZero() && e.OccurredAt.Before(q.From)) || (!q.To.IsZero() && !e.OccurredAt.Before(q.To)) {
				return true, nil
			}
			out = append(out, eventlog.Record{Position: eventlog.Position{Partition: p, Offset: off}, Event: e, Version: recordVersion(header(r, headerVersion))})
			return len(out) < q.Limit, nil
		})
		if err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		if len(out) >= q.Limit {
			break
		}
	}
	return out, nil
}

// mayMatch filters on the record's key and headers, before decoding; the decoded event is
// checked again, so a record without headers is simply decoded.
func mayMatch(r *sarama.Record, q eventlog.Query) bool {
	if q.Key != "" && r.Key != nil && string(r.Key) != q.Key {
		return false
	}
	if team, ok := header(r, headerTeam); ok && team != q.TeamID {
		return false
	}
	if typ, ok := header(r, headerType); ok && len(q.Types) > 0 && !slices.Contains(q.Types, typ) {
		return false
	}
	return true
}

func header(r *sarama.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h != nil && bytes.Equal(h.Key, []byte(key)) {
			return string(h.Value), true
		}
	}
	return "", false
}

// eachRecord passes the records of a fetched block from offset off on to fn, in order, until
// fn stops (false, or an error). next is the offset to read from then: after the last record
// fn took, or past the gaps compaction and control batches leave; on a stop, the record fn
// stopped at. progressed says whether next moved.
func eachRecord(p int32, block *sarama.FetchResponseBlock, off int64, fn func(o int64, r *sarama.Record) (bool, error)) (next int64, progressed, stopped bool, err error) {
	for _, rs := range block.RecordsSet {
		b := rs.RecordBatch
		if b == nil {
			return off, progressed, true, fmt.Errorf("partition %d holds records in the legacy format before offset %d", p, off)
		}
		if b.PartialTrailingRecord {
			break // the rest comes with the next fetch
		}
		if !b.Control {
			for _, r := range b.Records {
				o := b.FirstOffset + r.OffsetDelta
				if o < off {
					continue
				}
				more, err := fn(o, r)
				if err != nil || !more {
					return off, progressed, true, err
				}
				off, progressed = o+1, true
			}
		}
		// Compaction and control batches leave gaps: skip to the batch's end.
		if next := b.LastOffset() + 1; next > off {
			off, progressed = next, true
		}
	}
	return off, progressed, false, nil
}

// scan fetches partition p's records from offset from up to (not including) to, passing each
// to fn until fn says stop. A moved leader is looked up again; an offset below the log start
// (retention) continues from the log start.
func (l *EventLog) scan(ctx context.Context, p int32, from, to int64, fn func(off int64, r *sarama.Record) (bool, error)) error {
	off := from
	size := int32(fetchBytes)
	failures := 0
	for off < to {
		if err := ctx.Err(); err != nil {
			return err
		}
		block, err := l.fetch(p, off, size)
		if err == nil && !errors.Is(block.Err, sarama.ErrNoError) {
			err = block.Err
		}
		switch {
		case err == nil:
		case errors.Is(err, sarama.ErrOffsetOutOfRange):
			start, err := l.offsets(ctx, []int32{p}, sarama.OffsetOldest)
			if err != nil {
				return err
			}
			if start[p] <= off {
				return nil // past the end: nothing to read
			}
			off = start[p]
			continue
		default:
			failures++
			if !l.mayRetry(ctx, failures, err) {
				return fmt.Errorf("fetch partition %d: %w", p, err)
			}
			continue
		}
		failures = 0
		next, progressed, stopped, err := eachRecord(p, block, off, func(o int64, r *sarama.Record) (bool, error) {
			if o >= to {
				return false, nil
			}
			return fn(o, r)
		})
		if err != nil || stopped {
			return err
		}
		off = next
		if !progressed {
			if size >= 64*fetchBytes {
				return fmt.Errorf("partition %d: no complete record at offset %d", p, off)
			}
			size *= 4
		}
	}
	return nil
}

// fetch asks p's leader for records from off, without waiting for new ones.
func (l *EventLog) fetch(p int32, off int64, size int32) (*sarama.FetchResponseBlock, error) {
	b, err := l.leader(p)
	if err != nil {
		return nil, err
	}
	req := &sarama.FetchRequest{Version: 12, MaxWaitTime: 0, MinBytes: 1, MaxBytes: size, Isolation: sarama.ReadUncommitted, SessionEpoch: -1}
	req.AddBlock(l.topic, p, off, size, -1)
	resp, err := b.Fetch(req)
	if err != nil {
		return nil, err
	}
	block := resp.GetBlock(l.topic, p)
	if block == nil {
		return nil, sarama.ErrIncompleteResponse
	}
	return block, nil
}
