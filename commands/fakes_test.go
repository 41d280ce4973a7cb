package commands

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

// fakeLog is an in-memory Appender that behaves like the real log: it refuses incomplete
// events, assigns increasing positions and per-key versions, reports Duplicate (with the
// original's position) for an event id it already holds without writing it again, and refuses
// an AppendStream whose expected version is not the stream's. Its history (the world a test
// starts from) is in the streams only: events, len and since count what the test appended.
type fakeLog struct {
	mu      sync.Mutex
	events  []domain.Event
	byID    map[string]eventlog.AppendResult
	streams map[[2]string][]eventlog.Record // (team, key) → events in version order
	err     error                           // when set, appends fail with it and write nothing
	// beforeAppend, when set, runs (unlocked) before each AppendStream: a test's concurrent writer.
	beforeAppend func()
}

func newFakeLog() *fakeLog {
	return &fakeLog{byID: map[string]eventlog.AppendResult{}, streams: map[[2]string][]eventlog.Record{}}
}

// history adds events to the streams as if appended before the test.
func (l *fakeLog) history(events ...domain.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range events {
		k := [2]string{e.TeamID, e.Key}
		r := eventlog.Record{Position: eventlog.Position{Partition: 1, Offset: int64(len(l.byID) + 1)}, Event: e, Version: int64(len(l.streams[k]) + 1)}
		l.streams[k] = append(l.streams[k], r)
		l.byID[e.ID] = eventlog.AppendResult{Position: r.Position, Version: r.Version}
	}
}

func (l *fakeLog) Append(_ context.Context, events []domain.Event) ([]eventlog.AppendResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(events, "", "", eventlog.ExpectAny)
}

func (l *fakeLog) AppendStream(_ context.Context, teamID, key string, expected int64, events []domain.Event) ([]eventlog.AppendResult, error) {
	if l.beforeAppend != nil {
		l.beforeAppend()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(events, teamID, key, expected)
}

func (l *fakeLog) appendLocked(events []domain.Event, teamID, key string, expected int64) ([]eventlog.AppendResult, error) {
	if l.err != nil {
		return nil, l.err
	}
	for _, e := range events {
		if err := eventlog.Validate(e); err != nil {
			return nil, err
		}
		if key != "" && (e.TeamID != teamID || e.Key != key) {
			return nil, errors.New("fake log: an AppendStream event of another stream")
		}
	}
	fresh := 0
	for _, e := range events {
		if _, ok := l.byID[e.ID]; !ok {
			fresh++
		}
	}
	if fresh > 0 && expected != eventlog.ExpectAny {
		if v := int64(len(l.streams[[2]string{teamID, key}])); v != expected {
			return nil, &eventlog.ConflictError{Key: key, Expected: expected, Actual: v}
		}
	}
	out := make([]eventlog.AppendResult, len(events))
	for i, e := range events {
		if r, ok := l.byID[e.ID]; ok {
			r.Duplicate = true
			out[i] = r
			continue
		}
		k := [2]string{e.TeamID, e.Key}
		r := eventlog.Record{Position: eventlog.Position{Partition: 0, Offset: int64(len(l.events) + 1)}, Event: e, Version: int64(len(l.streams[k]) + 1)}
		l.streams[k] = append(l.streams[k], r)
		l.events = append(l.events, e)
		out[i] = eventlog.AppendResult{Position: r.Position, Version: r.Version}
		l.byID[e.ID] = out[i]
	}
	return out, nil
}

func (l *fakeLog) ReadStream(_ context.Context, teamID, key string, after int64, limit int) ([]eventlog.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil, l.err
	}
	s := l.streams[[2]string{teamID, key}]
	if after >= int64(len(s)) {
		return nil, nil
	}
	s = s[after:]
	if len(s) > limit {
		s = s[:limit]
	}
	return slices.Clone(s), nil
}

func (l *fakeLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// since returns the events appended after the first n.
func (l *fakeLog) since(n int) []domain.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events[n:])
}

// position is where the i-th event (0-based) was written.
func position(i int) string { return eventlog.Position{Offset: int64(i + 1)}.String() }

// fakeState is an in-memory read model. Rows are keyed by id and filtered by team like the
// real one: another team's row is not found. Prospect rows carry their Tags, as the real
// Prospect query fills them.
type fakeState struct {
	links    map[string]projections.AccountLink
	threads  map[string]projections.Thread
	messages map[string]projections.Message
	apiKeys  int
}

func newFakeState() *fakeState {
	return &fakeState{
		links:    map[string]projections.AccountLink{},
		threads:  map[string]projections.Thread{},
		messages: map[string]projections.Message{},
	}
}

func get[T any](rows map[string]T, teamID, id string, team func(T) string) (T, error) {
	r, ok := rows[id]
	if !ok || team(r) != teamID {
		var zero T
		return zero, projections.ErrNotFound
	}
	return r, nil
}

func (s *fakeState) Thread(_ context.Context, teamID, id string) (projections.Thread, error) {
	return get(s.threads, teamID, id, func(t projections.Thread) string { return t.TeamID })
}

func (s *fakeState) Message(_ context.Context, teamID, id string) (projections.Message, error) {
	return get(s.messages, teamID, id, func(m projections.Message) string { return m.TeamID })
}

func (s *fakeState) CountAPIKeys(context.Context) (int, error) { return s.apiKeys, nil }

// fakeCredentials keeps what LinkAccount stores, by team and account link.
type fakeCredentials struct {
	stored map[[2]string]map[string]string
}

func (c *fakeCredentials) Put(_ context.Context, teamID, accountLinkID string, creds map[string]string) error {
	c.stored[[2]string{teamID, accountLinkID}] = maps.Clone(creds)
	return nil
}

func (c *fakeCredentials) Get(_ context.Context, teamID, accountLinkID string) (map[string]string, error) {
	return maps.Clone(c.stored[[2]string{teamID, accountLinkID}]), nil
}

// fakeIdempotency remembers outcomes by (team, key).
type fakeIdempotency struct {
	records map[[2]string]IdempotencyRecord
	putErr  error // when set, Put fails: the outcome is lost, as in a crash right after the append
}

func (i *fakeIdempotency) Get(_ context.Context, teamID, key string) (IdempotencyRecord, bool, error) {
	r, ok := i.records[[2]string{teamID, key}]
	return r, ok, nil
}

func (i *fakeIdempotency) Put(_ context.Context, teamID, key string, r IdempotencyRecord) error {
	if i.putErr != nil {
		return i.putErr
	}
	i.records[[2]string{teamID, key}] = r
	return nil
}
