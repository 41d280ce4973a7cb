// Package eventlogtest is the conformance suite of the event log: every eventlog.Log adapter
// runs Run and passes every case. It asserts only what every log can promise, Kafka included:
// order within a key (one partition), never a global order across keys; positions are opaque
// except that offsets grow within a partition.
package eventlogtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// Factory opens the log under test.
type Factory struct {
	// Open returns a fresh log, closed by the factory when the test ends (so Close must
	// tolerate a second call). It may be called from parallel tests.
	Open func(t *testing.T) eventlog.Log
	// Reopen closes old and opens the same log again, proving durability.
	Reopen func(t *testing.T, old eventlog.Log) eventlog.Log
}

// Run runs every conformance case against f, as parallel subtests. Each gets a fresh log and
// its own team ids and consumer groups, so a shared log (one Kafka topic) works too.
func Run(t *testing.T, f Factory) {
	cases := []struct {
		name string
		fn   func(t *testing.T, f Factory)
	}{
		{"AppendReadKeepsEveryField", testAppendReadKeepsEveryField},
		{"AppendRefusesInvalidBatch", testAppendRefusesInvalidBatch},
		{"DuplicateInLaterCall", testDuplicateInLaterCall},
		{"DuplicateInSameBatch", testDuplicateInSameBatch},
		{"DuplicateInConcurrentCalls", testDuplicateInConcurrentCalls},
		{"OrderWithinKey", testOrderWithinKey},
		{"ReadIsolatesTeams", testReadIsolatesTeams},
		{"ReadRefusesBadQueries", testReadRefusesBadQueries},
		{"ReadFiltersByType", testReadFiltersByType},
		{"ReadFiltersByKey", testReadFiltersByKey},
		{"ReadFiltersByTimeRange", testReadFiltersByTimeRange},
		{"ReadPagesWithCursor", testReadPagesWithCursor},
		{"HeadCoversAppended", testHeadCoversAppended},
		{"DurableAcrossReopen", testDurableAcrossReopen},
		{"ConsumeExistingThenNew", testConsumeExistingThenNew},
		{"ConsumeKeepsKeyOrder", testConsumeKeepsKeyOrder},
		{"ConsumeCheckpointSurvivesRestart", testConsumeCheckpointSurvivesRestart},
		{"ConsumeRedeliversAfterHandlerError", testConsumeRedeliversAfterHandlerError},
		{"ConsumeGroupsAreIndependent", testConsumeGroupsAreIndependent},
		{"SetCheckpointRewindsGroup", testSetCheckpointRewindsGroup},
		{"ConcurrentAppendersDeliveredOnce", testConcurrentAppendersDeliveredOnce},
		{"CloseStopsEverything", testCloseStopsEverything},
	}
	cases = append(cases, streamCases...)
	cases = append(cases, typeCases...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, f)
		})
	}
}

func testAppendReadKeepsEveryField(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	events := SampleEvents(team, domain.NewID(domain.PrefixProspect))
	res := mustAppend(t, log, events...)

	recs := readAll(t, log, eventlog.Query{TeamID: team})
	assertSameSet(t, "read", ids(recs), eventIDs(events))
	want := map[string]int{}
	for i, e := range events {
		want[e.ID] = i
		if res[i].Duplicate {
			t.Fatalf("event %d reported as duplicate", i)
		}
	}
	for _, r := range recs {
		i := want[r.Event.ID]
		assertEqualEvent(t, r.Event, events[i])
		if r.Position != res[i].Position {
			t.Fatalf("event %s read at %v, appended at %v", r.Event.ID, r.Position, res[i].Position)
		}
	}
}

func testAppendRefusesInvalidBatch(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	key := domain.NewID(domain.PrefixProspect)
	breakers := map[string]func(*domain.Event){
		"no id":          func(e *domain.Event) { e.ID = "" },
		"no team":        func(e *domain.Event) { e.TeamID = "" },
		"no key":         func(e *domain.Event) { e.Key = "" },
		"no payload":     func(e *domain.Event) { e.Payload = nil },
		"no occurred_at": func(e *domain.Event) { e.OccurredAt = time.Time{} },
		"no recorded_at": func(e *domain.Event) { e.RecordedAt = time.Time{} },
	}
	for name, breakIt := range breakers {
		bad := threadEvent(team, key, 2)
		breakIt(&bad)
		batch := []domain.Event{threadEvent(team, key, 1), bad, threadEvent(team, key, 3)}
		if _, err := log.Append(context.Background(), batch); err == nil {
			t.Fatalf("%s: Append accepted the batch", name)
		}
	}
	if recs := readAll(t, log, eventlog.Query{TeamID: team}); len(recs) != 0 {
		t.Fatalf("a refused batch wrote %d events", len(recs))
	}

	// A refusal leaves the log usable, and an empty append is a no-op.
	mustAppend(t, log, threadEvent(team, key, 4))
	if res, err := log.Append(context.Background(), nil); err != nil || len(res) != 0 {
		t.Fatalf("empty Append = %v, %v", res, err)
	}
	if recs := readAll(t, log, eventlog.Query{TeamID: team}); len(recs) != 1 {
		t.Fatalf("read %d events, want 1", len(recs))
	}
}

func testDuplicateInLaterCall(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	key := domain.NewID(domain.PrefixProspect)
	orig := threadEvent(team, key, 1)
	first := mustAppend(t, log, orig)[0]
	mustAppend(t, log, threadEvent(team, key, 2))

	// A retry may carry other content: the first write wins, nothing else changes.
	retry := orig
	retry.Payload = domain.ThreadDone{ThreadID: "thr_other", ProspectID: key}
	again := mustAppend(t, log, retry)[0]
	if !again.Duplicate || again.Position != first.Position {
		t.Fatalf("re-append = %+v, want duplicate at %v", again, first.Position)
	}
	recs := readAll(t, log, eventlog.Query{TeamID: team, Key: key})
	if len(recs) != 2 {
		t.Fatalf("read %d events, want 2", len(recs))
	}
	assertEqualEvent(t, recs[0].Event, orig)
}

func testDuplicateInSameBatch(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	key := domain.NewID(domain.PrefixProspect)
	a, b := threadEvent(team, key, 1), threadEvent(team, key, 2)
	res := mustAppend(t, log, a, b, a, b)
	if res[0].Duplicate || res[1].Duplicate {
		t.Fatalf("first occurrences reported as duplicates: %+v", res)
	}
	if !res[2].Duplicate || res[2].Position != res[0].Position || !res[3].Duplicate || res[3].Position != res[1].Position {
		t.Fatalf("repeats in a batch = %+v, want duplicates of the first two", res)
	}
	assertSameSet(t, "read", ids(readAll(t, log, eventlog.Query{TeamID: team})), []string{a.ID, b.ID})
}

func testDuplicateInConcurrentCalls(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	e := threadEvent(team, domain.NewID(domain.PrefixProspect), 1)
	const callers = 10
	results := make([]eventlog.AppendResult, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			res, err := log.Append(context.Background(), []domain.Event{e})
			if err != nil || len(res) != 1 {
				t.Errorf("Append = %v, %v", res, err)
				return
			}
			results[i] = res[0]
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	written := 0
	for _, r := range results {
		if !r.Duplicate {
			written++
		}
		if r.Position != results[0].Position {
			t.Fatalf("concurrent appends of one event got positions %v and %v", results[0].Position, r.Position)
		}
	}
	if written != 1 {
		t.Fatalf("%d of %d concurrent appends of one event report a write, want 1", written, callers)
	}
	if recs := readAll(t, log, eventlog.Query{TeamID: team}); len(recs) != 1 {
		t.Fatalf("read %d copies, want 1", len(recs))
	}
}

func testOrderWithinKey(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	keys := []string{domain.NewID(domain.PrefixProspect), domain.NewID(domain.PrefixProspect), team}
	var appended []domain.Event
	lastPos := map[string]eventlog.Position{}
	for round := range 6 {
		// Alternate single appends with batches that mix keys.
		var batch []domain.Event
		for i, k := range keys {
			batch = append(batch, threadEvent(team, k, round*10+i))
			if round%2 == 0 {
				batch = append(batch, threadEvent(team, k, round*10+i+5))
			}
		}
		var res []eventlog.AppendResult
		if round%3 == 0 {
			for _, e := range batch {
				res = append(res, mustAppend(t, log, e)...)
			}
		} else {
			res = mustAppend(t, log, batch...)
		}
		for i, e := range batch {
			if p, ok := lastPos[e.Key]; ok && (p.Partition != res[i].Position.Partition || res[i].Position.Offset <= p.Offset) {
				t.Fatalf("key %s: Append returned %v after %v", e.Key, res[i].Position, p)
			}
			lastPos[e.Key] = res[i].Position
		}
		appended = append(appended, batch...)
	}
	recs := readAll(t, log, eventlog.Query{TeamID: team})
	assertSameSet(t, "read", ids(recs), eventIDs(appended))
	assertKeyOrder(t, recs, appended)
}

func testReadIsolatesTeams(t *testing.T, f Factory) {
	log := f.Open(t)
	teamA, teamB := NewTeamID(), NewTeamID()
	key := domain.NewID(domain.PrefixProspect) // even a shared key does not leak
	var a, b []domain.Event
	for i := range 5 {
		a = append(a, threadEvent(teamA, key, i))
		b = append(b, threadEvent(teamB, key, i))
	}
	mustAppend(t, log, append(slices.Clone(a), b...)...)
	assertSameSet(t, "team A", ids(readAll(t, log, eventlog.Query{TeamID: teamA})), eventIDs(a))
	assertSameSet(t, "team B", ids(readAll(t, log, eventlog.Query{TeamID: teamB})), eventIDs(b))
	assertSameSet(t, "team B by key", ids(readAll(t, log, eventlog.Query{TeamID: teamB, Key: key})), eventIDs(b))
	if recs := readAll(t, log, eventlog.Query{TeamID: NewTeamID()}); len(recs) != 0 {
		t.Fatalf("an unknown team reads %d events", len(recs))
	}
}

func testReadRefusesBadQueries(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	mustAppend(t, log, threadEvent(team, team, 1))
	for name, q := range map[string]eventlog.Query{
		"no team":        {Limit: 10},
		"no limit":       {TeamID: team},
		"negative limit": {TeamID: team, Limit: -1},
	} {
		if recs, err := log.Read(context.Background(), q); err == nil {
			t.Fatalf("%s: Read returned %d records and no error", name, len(recs))
		}
	}
}

func testReadFiltersByType(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	key := domain.NewID(domain.PrefixProspect)
	var events, want []domain.Event
	for i := range 9 {
		var p domain.Payload
		switch i % 3 {
		case 0:
			p = domain.ThreadRead{ThreadID: "thr_1", ProspectID: key}
		case 1:
			p = domain.ThreadDone{ThreadID: "thr_1", ProspectID: key}
		default:
			p = domain.ProspectTagged{ProspectID: key, TagID: "tag_1"}
		}
		e := NewEvent(team, key, p)
		events = append(events, e)
		if i%3 != 1 {
			want = append(want, e)
		}
	}
	mustAppend(t, log, events...)
	recs := readAll(t, log, eventlog.Query{TeamID: team, Types: []string{domain.TypeThreadRead, domain.TypeProspectTagged}})
	if !slices.Equal(ids(recs), eventIDs(want)) {
		t.Fatalf("by types: got %v, want %v", ids(recs), eventIDs(want))
	}
	recs = readAll(t, log, eventlog.Query{TeamID: team, Types: []string{domain.TypeTagDeleted}})
	if len(recs) != 0 {
		t.Fatalf("an absent type reads %d events", len(recs))
	}
}

func testReadFiltersByKey(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	k1, k2 := domain.NewID(domain.PrefixProspect), domain.NewID(domain.PrefixProspect)
	var events, want []domain.Event
	for i := range 10 {
		k := k1
		if i%3 == 0 {
			k = k2
		}
		e := threadEvent(team, k, i)
		events = append(events, e)
		if k == k2 {
			want = append(want, e)
		}
	}
	mustAppend(t, log, events...)
	recs := readAll(t, log, eventlog.Query{TeamID: team, Key: k2, Limit: 2})
	if !slices.Equal(ids(recs), eventIDs(want)) {
		t.Fatalf("by key: got %v, want %v", ids(recs), eventIDs(want))
	}
}

func testReadFiltersByTimeRange(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	key := domain.NewID(domain.PrefixProspect)
	// Whole microseconds: stores that index times (PostgreSQL) keep no more.
	base := time.Date(2024, 1, 2, 3, 4, 5, 600_000, time.UTC)
	var events []domain.Event
	for i := range 6 {
		e := threadEvent(team, key, i)
		e.OccurredAt = base.Add(time.Duration(i) * time.Minute)
		events = append(events, e)
	}
	// Appended out of time order: the filter is on occurred_at, not on log order.
	mustAppend(t, log, events[3], events[0], events[5], events[1], events[4], events[2])
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	for name, c := range map[string]struct {
		from, to time.Time
		want     []int
	}{
		"from and to": {at(1), at(4), []int{1, 2, 3}}, // from inclusive, to exclusive
		"from only":   {at(4), time.Time{}, []int{4, 5}},
		"to only":     {time.Time{}, at(2), []int{0, 1}},
		"sub-second":  {at(2).Add(-time.Millisecond), at(2).Add(time.Millisecond), []int{2}},
		"empty range": {at(3), at(3), nil},
	} {
		recs := readAll(t, log, eventlog.Query{TeamID: team, From: c.from, To: c.to})
		var want []string
		for _, i := range c.want {
			want = append(want, events[i].ID)
		}
		assertSameSet(t, name, ids(recs), want)
	}
}

func testReadPagesWithCursor(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	keys := []string{domain.NewID(domain.PrefixProspect), domain.NewID(domain.PrefixProspect), team}
	var events []domain.Event
	for i := range 25 {
		events = append(events, threadEvent(team, keys[i%len(keys)], i))
	}
	mustAppend(t, log, events[:10]...)
	mustAppend(t, log, events[10:]...)

	cursor := eventlog.Cursor{}
	var got []eventlog.Record
	for page := 0; ; page++ {
		recs, err := log.Read(context.Background(), eventlog.Query{TeamID: team, After: cursor, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 7 {
			t.Fatalf("page %d has %d records, limit 7", page, len(recs))
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if !cursor.After(r.Position) {
				t.Fatalf("page %d returned %v, not after the cursor %v", page, r.Position, cursor)
			}
			cursor.Advance(r.Position)
		}
		got = append(got, recs...)
		// Clients carry the cursor as a string between pages.
		if cursor, err = eventlog.ParseCursor(cursor.String()); err != nil {
			t.Fatal(err)
		}
		if page > 25 {
			t.Fatal("paging does not end")
		}
	}
	assertSameSet(t, "pages", ids(got), eventIDs(events))
	assertKeyOrder(t, got, events)

	// A cursor at the end stays valid: later events appear after it.
	late := threadEvent(team, keys[0], 99)
	mustAppend(t, log, late)
	recs, err := log.Read(context.Background(), eventlog.Query{TeamID: team, After: cursor, Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(recs), []string{late.ID}) {
		t.Fatalf("after the last page: got %v, want only the new event", ids(recs))
	}
}

func testHeadCoversAppended(t *testing.T, f Factory) {
	log := f.Open(t)
	if _, err := log.Head(context.Background()); err != nil {
		t.Fatalf("Head: %v", err)
	}
	team := NewTeamID()
	appended := eventlog.Cursor{}
	for i := range 4 {
		batch := []domain.Event{threadEvent(team, domain.NewID(domain.PrefixProspect), i), threadEvent(team, team, i)}
		for _, r := range mustAppend(t, log, batch...) {
			appended.Advance(r.Position)
		}
		head, err := log.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !head.Covers(appended) {
			t.Fatalf("head %v does not cover appended %v", head, appended)
		}
	}
	if err := log.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testDurableAcrossReopen(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	key := domain.NewID(domain.PrefixProspect)
	events := SampleEvents(team, key)
	res := mustAppend(t, log, events...)

	log = f.Reopen(t, log)
	recs := readAll(t, log, eventlog.Query{TeamID: team})
	assertSameSet(t, "after reopen", ids(recs), eventIDs(events))
	for _, r := range recs {
		for _, e := range events {
			if e.ID == r.Event.ID {
				assertEqualEvent(t, r.Event, e)
			}
		}
	}
	// Deduplication and per-key order span the restart.
	again := mustAppend(t, log, events[len(events)-1])[0]
	if !again.Duplicate || again.Position != res[len(res)-1].Position {
		t.Fatalf("re-append after reopen = %+v, want duplicate at %v", again, res[len(res)-1].Position)
	}
	next := mustAppend(t, log, threadEvent(team, key, 1))[0]
	if last := res[len(res)-1].Position; next.Position.Partition != last.Partition || next.Position.Offset <= last.Offset {
		t.Fatalf("after reopen key %s got %v after %v", key, next.Position, last)
	}
	head, err := log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if head.After(next.Position) {
		t.Fatalf("head %v does not cover %v", head, next.Position)
	}
}

func testConsumeExistingThenNew(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	keys := []string{domain.NewID(domain.PrefixProspect), domain.NewID(domain.PrefixProspect), team}
	var before, after []domain.Event
	for i := range 9 {
		before = append(before, threadEvent(team, keys[i%3], i))
		after = append(after, threadEvent(team, keys[i%3], 100+i))
	}
	mustAppend(t, log, before...)

	c := &collector{team: team}
	cons := startConsumer(t, log, newGroup("existing"), c.handle)
	c.waitForCount(t, len(before))
	for _, e := range after { // one by one: each wakes the consumer anew
		mustAppend(t, log, e)
	}
	all := append(slices.Clone(before), after...)
	c.waitForCount(t, len(all))
	cons.stop(t)
	got := c.snapshot()
	assertSameSet(t, "delivered", ids(got), eventIDs(all))
	assertKeyOrder(t, got, all)
}

func testConsumeKeepsKeyOrder(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	var keys []string
	for range 4 {
		keys = append(keys, domain.NewID(domain.PrefixProspect))
	}
	var all []domain.Event
	appendRound := func(round int) {
		var batch []domain.Event
		for i := range 8 {
			batch = append(batch, threadEvent(team, keys[(i*3+round)%len(keys)], round*100+i))
		}
		mustAppend(t, log, batch...)
		all = append(all, batch...)
	}
	for round := range 3 {
		appendRound(round)
	}
	c := &collector{team: team}
	cons := startConsumer(t, log, newGroup("order"), c.handle)
	for round := 3; round < 6; round++ {
		appendRound(round)
	}
	c.waitForCount(t, len(all))
	cons.stop(t)
	got := c.snapshot()
	assertSameSet(t, "delivered", ids(got), eventIDs(all))
	assertKeyOrder(t, got, all)
	// Records carry their version: within a key, 1, 2, 3… in the order delivered.
	next := map[string]int64{}
	for _, r := range got {
		next[r.Event.Key]++
		if r.Version != next[r.Event.Key] {
			t.Fatalf("key %s: the event delivered as number %d has version %d", r.Event.Key, next[r.Event.Key], r.Version)
		}
	}
}

func testConsumeCheckpointSurvivesRestart(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	group := newGroup("checkpoint")
	var all []domain.Event
	for i := range 12 {
		e := threadEvent(team, domain.NewID(domain.PrefixProspect), i)
		mustAppend(t, log, e)
		all = append(all, e)
	}

	// First run: accept one batch, refuse everything after, then stop. What was accepted is
	// committed; what was refused is not.
	var mu sync.Mutex
	var committed []string
	accepted := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- log.Consume(ctx, group, func(_ context.Context, recs []eventlog.Record) error {
			mu.Lock()
			defer mu.Unlock()
			var mine []string
			for _, r := range recs {
				if r.Event.TeamID == team {
					mine = append(mine, r.Event.ID)
				}
			}
			if len(mine) == 0 {
				return nil // another test's events, on a shared log
			}
			select {
			case <-accepted:
				return errors.New("stopping")
			default:
			}
			committed = mine
			close(accepted)
			return nil
		})
	}()
	select {
	case <-accepted:
	case <-time.After(wait):
		t.Fatal("the first batch never arrived")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Consume returned %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("Consume did not stop")
	}

	// The checkpoint is durable: it survives the log's restart too.
	log = f.Reopen(t, log)
	more := []domain.Event{threadEvent(team, team, 100), threadEvent(team, team, 101)}
	mustAppend(t, log, more...)
	all = append(all, more...)

	c := &collector{team: team}
	cons := startConsumer(t, log, group, c.handle)
	c.waitForCount(t, len(all)-len(committed))
	cons.stop(t)
	got := ids(c.snapshot())
	for _, id := range got {
		if slices.Contains(committed, id) {
			t.Fatalf("event %s was redelivered after its batch was committed", id)
		}
	}
	assertSameSet(t, "committed + delivered after restart", append(got, committed...), eventIDs(all))
}

func testConsumeRedeliversAfterHandlerError(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	keys := []string{domain.NewID(domain.PrefixProspect), team}
	var all []domain.Event
	for i := range 10 {
		all = append(all, threadEvent(team, keys[i%2], i))
	}
	mustAppend(t, log, all[:5]...)

	var mu sync.Mutex
	var failed []string
	failures := 0
	c := &collector{team: team}
	cons := startConsumer(t, log, newGroup("redeliver"), func(ctx context.Context, recs []eventlog.Record) error {
		mu.Lock()
		defer mu.Unlock()
		mine := 0
		for _, r := range recs {
			if r.Event.TeamID == team {
				mine++
			}
		}
		if mine > 0 && failures < 2 {
			failures++
			for _, r := range recs {
				if r.Event.TeamID == team {
					failed = append(failed, r.Event.ID)
				}
			}
			return fmt.Errorf("failure %d", failures)
		}
		return c.handle(ctx, recs)
	})
	c.waitForCount(t, 5)
	mustAppend(t, log, all[5:]...)
	c.waitForCount(t, len(all))
	cons.stop(t)

	got := c.snapshot()
	// Nothing skipped, nothing accepted twice: a failed batch counts as not delivered.
	assertSameSet(t, "accepted", ids(got), eventIDs(all))
	assertKeyOrder(t, got, all)
	mu.Lock()
	defer mu.Unlock()
	if failures != 2 {
		t.Fatalf("handler failed %d times, want 2", failures)
	}
	for _, id := range failed {
		if !slices.Contains(ids(got), id) {
			t.Fatalf("event %s of a failed batch was never redelivered", id)
		}
	}
}

func testConsumeGroupsAreIndependent(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	var events []domain.Event
	for i := range 6 {
		events = append(events, threadEvent(team, team, i))
	}
	mustAppend(t, log, events...)
	groupA, groupB := newGroup("a"), newGroup("b")

	// A is stuck on a failing handler; B is not held back by it.
	var attemptsA sync.WaitGroup
	attemptsA.Add(1)
	var once sync.Once
	stuck := startConsumer(t, log, groupA, func(context.Context, []eventlog.Record) error {
		once.Do(attemptsA.Done)
		return errors.New("group A is broken")
	})
	b := &collector{team: team}
	consB := startConsumer(t, log, groupB, b.handle)
	b.waitForCount(t, len(events))
	attemptsA.Wait()
	stuck.stop(t)
	consB.stop(t)

	// B's checkpoint is not A's: a healthy A still gets everything from the start.
	a := &collector{team: team}
	consA := startConsumer(t, log, groupA, a.handle)
	a.waitForCount(t, len(events))
	consA.stop(t)
	assertSameSet(t, "group A", ids(a.snapshot()), eventIDs(events))
	assertSameSet(t, "group B", ids(b.snapshot()), eventIDs(events))
}

func testConcurrentAppendersDeliveredOnce(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	c := &collector{team: team}
	cons := startConsumer(t, log, newGroup("concurrent"), c.handle)

	const writers, perWriter = 20, 10
	appended := make([][]domain.Event, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			key := domain.NewID(domain.PrefixProspect)
			for i := 0; i < perWriter; {
				// Singles and pairs, so concurrent calls of several sizes meet.
				batch := []domain.Event{threadEvent(team, key, i)}
				if i%3 == 1 && i+1 < perWriter {
					batch = append(batch, threadEvent(team, key, i+1))
				}
				res, err := log.Append(context.Background(), batch)
				if err != nil {
					t.Errorf("writer %d: Append: %v", w, err)
					return
				}
				for _, r := range res {
					if r.Duplicate {
						t.Errorf("writer %d: a new event reported as duplicate", w)
					}
				}
				appended[w] = append(appended[w], batch...)
				i += len(batch)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	all := slices.Concat(appended...)
	c.waitForCount(t, len(all))
	cons.stop(t)
	got := c.snapshot()
	if len(got) != len(all) {
		t.Fatalf("%d deliveries of %d events: some were delivered twice", len(got), len(all))
	}
	assertSameSet(t, "delivered", ids(got), eventIDs(all))
	assertKeyOrder(t, got, all)
}

func testCloseStopsEverything(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	mustAppend(t, log, threadEvent(team, team, 1))
	c := &collector{team: team}
	done := make(chan error, 1)
	go func() { done <- log.Consume(context.Background(), newGroup("close"), c.handle) }()
	c.waitForCount(t, 1) // the consumer is caught up and waiting

	if err := log.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, eventlog.ErrClosed) {
			t.Fatalf("Consume returned %v after Close, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("Close did not stop the consumer")
	}
	ctx := context.Background()
	if _, err := log.Append(ctx, []domain.Event{threadEvent(team, team, 2)}); !errors.Is(err, eventlog.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if _, err := log.Read(ctx, eventlog.Query{TeamID: team, Limit: 1}); !errors.Is(err, eventlog.ErrClosed) {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}
	if _, err := log.Head(ctx); !errors.Is(err, eventlog.ErrClosed) {
		t.Fatalf("Head after Close = %v, want ErrClosed", err)
	}
	if err := log.Ping(ctx); !errors.Is(err, eventlog.ErrClosed) {
		t.Fatalf("Ping after Close = %v, want ErrClosed", err)
	}
	if err := log.Consume(ctx, newGroup("late"), c.handle); !errors.Is(err, eventlog.ErrClosed) {
		t.Fatalf("Consume after Close = %v, want ErrClosed", err)
	}
}

// A projection that lost its store rewinds its group to the start (an empty cursor) or to the
// store's own checkpoint, and gets exactly the events after it again.
func testSetCheckpointRewindsGroup(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	var events []domain.Event
	for i := range 6 {
		events = append(events, threadEvent(team, team, i))
	}
	res := mustAppend(t, log, events...)
	group := newGroup("rewind")
	first := &collector{team: team}
	c := startConsumer(t, log, group, first.handle)
	first.waitForCount(t, len(events))
	c.stop(t)

	if err := log.SetCheckpoint(context.Background(), group, eventlog.Cursor{}); err != nil {
		t.Fatalf("SetCheckpoint(start): %v", err)
	}
	again := &collector{team: team}
	c = startConsumer(t, log, group, again.handle)
	again.waitForCount(t, len(events))
	c.stop(t)
	assertSameSet(t, "after rewind to start", ids(again.snapshot()), eventIDs(events))

	// Rewind to just after the fourth event: only the last two come again.
	cur := eventlog.Cursor{}
	for _, r := range res[:4] {
		cur.Advance(r.Position)
	}
	if err := log.SetCheckpoint(context.Background(), group, cur); err != nil {
		t.Fatalf("SetCheckpoint(4th): %v", err)
	}
	tail := &collector{team: team}
	c = startConsumer(t, log, group, tail.handle)
	tail.waitForCount(t, 2)
	time.Sleep(100 * time.Millisecond) // room for a wrong extra delivery to show up
	c.stop(t)
	assertSameSet(t, "after rewind to the 4th event", ids(tail.snapshot()), eventIDs(events[4:]))
}
