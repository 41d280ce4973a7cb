// Package eventlog is the port of the event log: the only source of truth. Adapters:
// adapters/sqlite (embedded) and adapters/kafka (at scale). Every adapter passes the one
// conformance suite in eventlog/eventlogtest.
package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// Position is where one event sits in the log. Events of one key always share a partition, so
// within a key Offset grows with every event: projections use it as a per-key version.
// The embedded log has a single partition (0) and a global order.
type Position struct {
	Partition int32
	Offset    int64
}

// String renders a position as "partition-offset".
func (p Position) String() string { return fmt.Sprintf("%d-%d", p.Partition, p.Offset) }

// ParsePosition parses String's form.
func ParsePosition(s string) (Position, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Position{}, fmt.Errorf("position %q is not partition-offset", s)
	}
	part, err1 := strconv.ParseInt(a, 10, 32)
	off, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || part < 0 || off < 0 {
		return Position{}, fmt.Errorf("position %q is not partition-offset", s)
	}
	return Position{Partition: int32(part), Offset: off}, nil
}

// Cursor is a point in the whole log: for each partition, the offset of the last event seen.
// A partition missing from the cursor is read from its start.
type Cursor map[int32]int64

// After reports whether p comes after the cursor.
func (c Cursor) After(p Position) bool {
	off, ok := c[p.Partition]
	return !ok || p.Offset > off
}

// Advance moves the cursor past p.
func (c Cursor) Advance(p Position) {
	if off, ok := c[p.Partition]; !ok || p.Offset > off {
		c[p.Partition] = p.Offset
	}
}

// Covers reports whether every position of other is at or before c.
func (c Cursor) Covers(other Cursor) bool {
	for part, off := range other {
		if mine, ok := c[part]; !ok || mine < off {
			return false
		}
	}
	return true
}

// String renders a cursor as "p-o,p-o" in partition order ("" for the start).
func (c Cursor) String() string {
	parts := make([]int32, 0, len(c))
	for p := range c {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Position{p, c[p]}.String())
	}
	return b.String()
}

// ParseCursor parses String's form; "" is the start of the log.
func ParseCursor(s string) (Cursor, error) {
	c := Cursor{}
	if s == "" {
		return c, nil
	}
	for _, f := range strings.Split(s, ",") {
		p, err := ParsePosition(f)
		if err != nil {
			return nil, err
		}
		c[p.Partition] = p.Offset
	}
	return c, nil
}

// Record is an event with its place in the log.
type Record struct {
	Position Position
	Event    domain.Event
	// Version is the event's place in its key's stream (1 for the key's first event), where the
	// adapter knows it; 0 where it does not (e.g. a consumer of a log written before versions).
	Version int64
}

// AppendResult says where an appended event landed.
type AppendResult struct {
	Position Position
	// Duplicate is true when an event with the same ID was already in the log: nothing was
	// written and Position is the original's.
	Duplicate bool
	// Version is the event's place in its key's stream (see Record.Version).
	Version int64
}

// Query selects events to read.
type Query struct {
	After  Cursor    // start after this cursor (nil: from the start)
	TeamID string    // required: a team only ever reads its own events
	Types  []string  // only these types (all when empty)
	Key    string    // only this key
	From   time.Time // only events that occurred at or after (zero: no bound)
	To     time.Time // only events that occurred before (zero: no bound)
	Limit  int       // at most this many (required, > 0)
}

// Handler receives records of a consumer group in order per key. When it returns nil, the
// records are checkpointed and never delivered to the group again; when it returns an error,
// they are delivered again, so a handler must tolerate redelivery.
type Handler func(ctx context.Context, records []Record) error

// Log is the event log. It is also the write model's Streams.
type Log interface {
	Streams
	// Append writes events durably and in order, returning only once they are committed.
	// An event whose ID is already in the log is not written again (see AppendResult).
	Append(ctx context.Context, events []domain.Event) ([]AppendResult, error)
	// Read returns up to q.Limit of the team's events after q.After, in log order.
	Read(ctx context.Context, q Query) ([]Record, error)
	// Consume delivers every event after the group's checkpoint to h, then waits for new ones
	// and delivers them within milliseconds, until ctx is done. A new group starts at the
	// beginning of the log.
	Consume(ctx context.Context, group string, h Handler) error
	// ConsumeTypes is Consume for only the events whose type is one of types (every event
	// when types is empty): the log leaves the others out before decoding them where it can,
	// and the group's checkpoint moves past them too. A group is always consumed with the
	// same types.
	ConsumeTypes(ctx context.Context, group string, types []string, h Handler) error
	// SetCheckpoint moves a group's checkpoint: the group's next Consume starts after c (from
	// the beginning for an empty cursor). A projection whose store keeps its own checkpoint
	// (exactly-once) uses it to resume from there, e.g. after its read model was deleted.
	// The group must not be consuming.
	SetCheckpoint(ctx context.Context, group string, c Cursor) error
	// Head returns the cursor of the last event of every partition.
	Head(ctx context.Context) (Cursor, error)
	// Ping checks that the log is reachable.
	Ping(ctx context.Context) error
	// Close releases the log.
	Close() error
}

// Retention is a log that may have dropped its oldest events (Kafka with a retention time or
// deleted records): a reader resuming from a cursor checks that nothing between it and what
// the log still holds is gone.
type Retention interface {
	// Oldest returns, for every partition, the offset of its oldest event still held (a
	// partition without any held event may be missing or at its next offset).
	Oldest(ctx context.Context) (Cursor, error)
}

// Follower is a log that several processes append to, read by one process for itself: every
// event, from a cursor, as it is appended, without a consumer group (nothing is committed and no
// other reader is affected). A per-process cache learns through it what other processes wrote.
type Follower interface {
	// Follow reads the events after from (a partition missing from it: from its start) whose
	// type is one of types (every type when empty), as they are appended, and passes them to
	// h, in order per partition, until ctx ends or the log closes. h is called after every
	// read, with no record too, and never concurrently; caughtUpAsOf is a time before which
	// every event appended since from has been passed to h (zero until it is known): it stops
	// moving while the log cannot be read. A failed read is retried with backoff, forever.
	Follow(ctx context.Context, from Cursor, types []string, h func(recs []Record, caughtUpAsOf time.Time)) error
}

// ExpectAny appends whatever version the stream is at.
const ExpectAny int64 = -1

// ErrConflict is returned (wrapped in a *ConflictError) by AppendStream when the stream is not
// at the expected version: another writer appended first. The write side reloads and decides
// again; it never reaches a client as Internal.
var ErrConflict = errors.New("event stream version conflict")

// ConflictError says which stream moved and to where.
type ConflictError struct {
	Key              string
	Expected, Actual int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("stream %s is at version %d, not %d", e.Key, e.Actual, e.Expected)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Streams is the write model's view of the log: one stream per key (a prospect, or a team), whose
// version is the number of its events in the log. Every append gives each event the next version
// of its key, whichever method appended it, so versions are gapless per key.
type Streams interface {
	// AppendStream appends events, all of the given team and key, only if the key's stream is at
	// version expected (0: no event yet; ExpectAny: no check); they take versions expected+1….
	// Events whose id is already in the log are not written again and are reported as
	// Duplicate; a batch made only of those is answered as such whatever the version, so a
	// retried command is idempotent. Otherwise a stream at another version fails with a
	// *ConflictError and nothing is written.
	AppendStream(ctx context.Context, teamID, key string, expected int64, events []domain.Event) ([]AppendResult, error)
	// ReadStream returns up to limit events of the team's key with a version above after, in
	// version order, each with its Version. An unknown key has no events (no error).
	ReadStream(ctx context.Context, teamID, key string, after int64, limit int) ([]Record, error)
}

// ErrClosed is returned by a closed log.
var ErrClosed = errors.New("event log closed")

// Validate checks an event before it is appended: every log refuses incomplete events.
func Validate(e domain.Event) error {
	switch {
	case e.ID == "":
		return errors.New("event without id")
	case e.TeamID == "":
		return errors.New("event without team")
	case e.Key == "":
		return errors.New("event without key")
	case e.Payload == nil:
		return errors.New("event without payload")
	case e.OccurredAt.IsZero() || e.RecordedAt.IsZero():
		return errors.New("event without time")
	}
	return nil
}
