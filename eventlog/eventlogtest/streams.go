package eventlogtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// streamCases are the cases of the write model's expected-version appends (eventlog.Streams).
var streamCases = []struct {
	name string
	fn   func(t *testing.T, f Factory)
}{
	{"StreamBatchTakesConsecutiveVersions", testStreamBatchTakesConsecutiveVersions},
	{"StreamConcurrentAppendsOneWins", testStreamConcurrentAppendsOneWins},
	{"StreamRefusesWrongVersion", testStreamRefusesWrongVersion},
	{"StreamReappendIsIdempotent", testStreamReappendIsIdempotent},
	{"StreamVersionsGaplessAcrossMethods", testStreamVersionsGaplessAcrossMethods},
	{"StreamConcurrentPlainAppendsGapless", testStreamConcurrentPlainAppendsGapless},
	{"ReadStreamOrderAfterLimit", testReadStreamOrderAfterLimit},
	{"ReadStreamIsolatesTeams", testReadStreamIsolatesTeams},
	{"StreamRefusesBadArguments", testStreamRefusesBadArguments},
	{"StreamVersionsSurviveReopen", testStreamVersionsSurviveReopen},
}

func threadEvents(team, key string, from, n int) []domain.Event {
	out := make([]domain.Event, n)
	for i := range out {
		out[i] = threadEvent(team, key, from+i)
	}
	return out
}

func mustAppendStream(t *testing.T, log eventlog.Log, team, key string, expected int64, events ...domain.Event) []eventlog.AppendResult {
	t.Helper()
	res, err := log.AppendStream(context.Background(), team, key, expected, events)
	if err != nil {
		t.Fatalf("AppendStream(expected %d): %v", expected, err)
	}
	if len(res) != len(events) {
		t.Fatalf("AppendStream returned %d results for %d events", len(res), len(events))
	}
	return res
}

// readStream reads the whole stream in pages of 3.
func readStream(t *testing.T, log eventlog.Log, team, key string) []eventlog.Record {
	t.Helper()
	var out []eventlog.Record
	after := int64(0)
	for range 10_000 {
		page, err := log.ReadStream(context.Background(), team, key, after, 3)
		if err != nil {
			t.Fatalf("ReadStream: %v", err)
		}
		if len(page) > 3 {
			t.Fatalf("ReadStream returned %d records for limit 3", len(page))
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Version
	}
	t.Fatal("ReadStream never reached the end")
	return nil
}

// assertStream fails unless the stream holds exactly want, at versions 1, 2, … in that order.
func assertStream(t *testing.T, log eventlog.Log, team, key string, want []domain.Event) {
	t.Helper()
	recs := readStream(t, log, team, key)
	if !slices.Equal(ids(recs), eventIDs(want)) {
		t.Fatalf("stream %s: got %v, want %v", key, ids(recs), eventIDs(want))
	}
	for i, r := range recs {
		if r.Version != int64(i+1) {
			t.Fatalf("stream %s: event %d has version %d, want %d", key, i, r.Version, i+1)
		}
	}
}

func assertConflict(t *testing.T, err error, key string, expected, actual int64) {
	t.Helper()
	var ce *eventlog.ConflictError
	if !errors.Is(err, eventlog.ErrConflict) || !errors.As(err, &ce) {
		t.Fatalf("AppendStream(expected %d) = %v, want a conflict", expected, err)
	}
	if ce.Key != key || ce.Expected != expected || ce.Actual != actual {
		t.Fatalf("conflict = %+v, want key %s expected %d actual %d", *ce, key, expected, actual)
	}
}

func testStreamBatchTakesConsecutiveVersions(t *testing.T, f Factory) {
	log := f.Open(t)
	team, key := NewTeamID(), domain.NewID(domain.PrefixProspect)
	first := threadEvents(team, key, 0, 5)
	res := mustAppendStream(t, log, team, key, 0, first...)
	second := threadEvents(team, key, 5, 3)
	res = append(res, mustAppendStream(t, log, team, key, 5, second...)...)
	for i, r := range res {
		if r.Duplicate || r.Version != int64(i+1) {
			t.Fatalf("result %d = %+v, want a write at version %d", i, r, i+1)
		}
	}
	assertStream(t, log, team, key, append(first, second...))
}

func testStreamConcurrentAppendsOneWins(t *testing.T, f Factory) {
	log := f.Open(t)
	team, key := NewTeamID(), domain.NewID(domain.PrefixProspect)
	base := threadEvents(team, key, 0, 2)
	mustAppendStream(t, log, team, key, 0, base...)

	const writers = 8
	batches := make([][]domain.Event, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		batches[i] = threadEvents(team, key, 100*(i+1), 2)
		wg.Go(func() {
			_, errs[i] = log.AppendStream(context.Background(), team, key, 2, batches[i])
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both appended at version 2", winner, i)
		case err == nil:
			winner = i
		default:
			assertConflict(t, err, key, 2, 4)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer won: %v", errs)
	}
	want := append(slices.Clone(base), batches[winner]...)
	assertStream(t, log, team, key, want)
	// Nothing of a loser reached the log, not even by another read path.
	assertSameSet(t, "read", ids(readAll(t, log, eventlog.Query{TeamID: team})), eventIDs(want))
}

func testStreamRefusesWrongVersion(t *testing.T, f Factory) {
	log := f.Open(t)
	team, key := NewTeamID(), domain.NewID(domain.PrefixProspect)
	ctx := context.Background()
	_, err := log.AppendStream(ctx, team, key, 1, threadEvents(team, key, 0, 1))
	assertConflict(t, err, key, 1, 0) // a stream that does not exist is at 0
	base := threadEvents(team, key, 10, 3)
	mustAppendStream(t, log, team, key, 0, base...)
	for _, expected := range []int64{0, 2, 4, 7} { // stale, stale, a gap, a gap
		_, err := log.AppendStream(ctx, team, key, expected, threadEvents(team, key, 20, 2))
		assertConflict(t, err, key, expected, 3)
	}
	assertStream(t, log, team, key, base)
	assertSameSet(t, "read", ids(readAll(t, log, eventlog.Query{TeamID: team})), eventIDs(base))
}

func testStreamReappendIsIdempotent(t *testing.T, f Factory) {
	log := f.Open(t)
	team, key := NewTeamID(), domain.NewID(domain.PrefixProspect)
	batch := threadEvents(team, key, 0, 2)
	first := mustAppendStream(t, log, team, key, 0, batch...)
	later := threadEvent(team, key, 9)
	mustAppendStream(t, log, team, key, 2, later)

	// A retried command: same ids, the version it was decided on, now stale.
	for _, expected := range []int64{0, eventlog.ExpectAny} {
		again := mustAppendStream(t, log, team, key, expected, batch...)
		for i, r := range again {
			if !r.Duplicate || r.Position != first[i].Position || r.Version != first[i].Version {
				t.Fatalf("re-append at %d: result %d = %+v, want the duplicate of %+v", expected, i, r, first[i])
			}
		}
	}
	// Known ids are dropped from a batch; the rest is judged on the version.
	next := threadEvent(team, key, 10)
	res := mustAppendStream(t, log, team, key, 3, batch[1], next)
	if !res[0].Duplicate || res[0].Version != 2 || res[1].Duplicate || res[1].Version != 4 {
		t.Fatalf("mixed batch = %+v, want a duplicate at 2 and a write at 4", res)
	}
	_, err := log.AppendStream(context.Background(), team, key, 3, []domain.Event{batch[0], threadEvent(team, key, 11)})
	assertConflict(t, err, key, 3, 4)
	assertStream(t, log, team, key, append(slices.Clone(batch), later, next))
}

func testStreamVersionsGaplessAcrossMethods(t *testing.T, f Factory) {
	log := f.Open(t)
	team := NewTeamID()
	k1, k2 := domain.NewID(domain.PrefixProspect), domain.NewID(domain.PrefixProspect)
	want := map[string][]domain.Event{}
	check := func(res []eventlog.AppendResult, events []domain.Event) {
		t.Helper()
		for i, e := range events {
			want[e.Key] = append(want[e.Key], e)
			if res[i].Duplicate || res[i].Version != int64(len(want[e.Key])) {
				t.Fatalf("event %d of %s: %+v, want version %d", i, e.Key, res[i], len(want[e.Key]))
			}
		}
	}
	// A plain batch mixing keys, expected-version appends, plain appends again.
	mixed := []domain.Event{threadEvent(team, k1, 1), threadEvent(team, k2, 2), threadEvent(team, k1, 3)}
	check(mustAppend(t, log, mixed...), mixed)
	s := threadEvents(team, k1, 10, 2)
	check(mustAppendStream(t, log, team, k1, 2, s...), s)
	p := []domain.Event{threadEvent(team, k1, 20), threadEvent(team, k2, 21)}
	check(mustAppend(t, log, p...), p)
	s = threadEvents(team, k2, 30, 1)
	check(mustAppendStream(t, log, team, k2, eventlog.ExpectAny, s...), s)
	s = threadEvents(team, k1, 40, 1)
	check(mustAppendStream(t, log, team, k1, 5, s...), s)

	assertStream(t, log, team, k1, want[k1])
	assertStream(t, log, team, k2, want[k2])
	// Read carries the same versions.
	version := map[string]int64{}
	for _, r := range readStream(t, log, team, k1) {
		version[r.Event.ID] = r.Version
	}
	for _, r := range readStream(t, log, team, k2) {
		version[r.Event.ID] = r.Version
	}
	for _, r := range readAll(t, log, eventlog.Query{TeamID: team}) {
		if r.Version != version[r.Event.ID] {
			t.Fatalf("Read gives event %s version %d, ReadStream %d", r.Event.ID, r.Version, version[r.Event.ID])
		}
	}
}

func testStreamConcurrentPlainAppendsGapless(t *testing.T, f Factory) {
	log := f.Open(t)
	team, key := NewTeamID(), domain.NewID(domain.PrefixProspect)
	const writers = 8
	res := make([][]eventlog.AppendResult, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			var err error
			if res[i], err = log.Append(context.Background(), threadEvents(team, key, 10*i, 2)); err != nil {
				t.Errorf("Append: %v", err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var versions []int64
	for _, r := range res {
		if r[1].Version != r[0].Version+1 {
			t.Fatalf("one batch took versions %d and %d", r[0].Version, r[1].Version)
		}
		versions = append(versions, r[0].Version, r[1].Version)
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != int64(i+1) {
			t.Fatalf("versions of %d concurrent appends: %v, want 1…%d", writers, versions, 2*writers)
		}
	}
	// Versions follow the log's order of the key.
	recs := readStream(t, log, team, key)
	byPos := slices.Clone(recs)
	slices.SortFunc(byPos, func(a, b eventlog.Record) int { return int(a.Position.Offset - b.Position.Offset) })
	if !slices.Equal(ids(recs), ids(byPos)) || len(recs) != 2*writers {
		t.Fatalf("stream order %v, log order %v", ids(recs), ids(byPos))
	}
}

func testReadStreamOrderAfterLimit(t *testing.T, f Factory) {
	log := f.Open(t)
	team, key, other := NewTeamID(), domain.NewID(domain.PrefixProspect), domain.NewID(domain.PrefixProspect)
	var events []domain.Event
	for i := range 7 {
		e := threadEvent(team, key, i)
		events = append(events, e)
		mustAppend(t, log, e, threadEvent(team, other, i)) // interleaved with another stream
	}
	ctx := context.Background()
	recs, err := log.ReadStream(ctx, team, key, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(recs), eventIDs(events[2:5])) || recs[0].Version != 3 || recs[2].Version != 5 {
		t.Fatalf("ReadStream(after 2, limit 3) = %v, want versions 3…5: %v", ids(recs), eventIDs(events[2:5]))
	}
	for i, r := range recs {
		assertEqualEvent(t, r.Event, events[2+i])
	}
	if recs, err := log.ReadStream(ctx, team, key, 7, 10); err != nil || len(recs) != 0 {
		t.Fatalf("ReadStream past the end = %d records, %v", len(recs), err)
	}
	if recs, err := log.ReadStream(ctx, team, domain.NewID(domain.PrefixProspect), 0, 10); err != nil || len(recs) != 0 {
		t.Fatalf("ReadStream of an unknown key = %d records, %v", len(recs), err)
	}
	assertStream(t, log, team, key, events)
}

func testReadStreamIsolatesTeams(t *testing.T, f Factory) {
	log := f.Open(t)
	teamA, teamB := NewTeamID(), NewTeamID()
	key := domain.NewID(domain.PrefixProspect) // even a shared key is two streams
	a, b := threadEvents(teamA, key, 0, 3), threadEvents(teamB, key, 0, 2)
	mustAppend(t, log, append(slices.Clone(a), b...)...)
	assertStream(t, log, teamA, key, a)
	assertStream(t, log, teamB, key, b)
	// Team B's stream is at 2, whatever team A wrote under the same key.
	more := threadEvent(teamB, key, 9)
	if res := mustAppendStream(t, log, teamB, key, 2, more); res[0].Version != 3 {
		t.Fatalf("team B's third event got version %d", res[0].Version)
	}
	if recs, err := log.ReadStream(context.Background(), NewTeamID(), key, 0, 10); err != nil || len(recs) != 0 {
		t.Fatalf("another team reads %d events of the key, %v", len(recs), err)
	}
}

func testStreamRefusesBadArguments(t *testing.T, f Factory) {
	log := f.Open(t)
	team, key := NewTeamID(), domain.NewID(domain.PrefixProspect)
	ctx := context.Background()
	for name, events := range map[string][]domain.Event{
		"another key":  {threadEvent(team, key, 1), threadEvent(team, domain.NewID(domain.PrefixProspect), 2)},
		"another team": {threadEvent(NewTeamID(), key, 1)},
	} {
		if _, err := log.AppendStream(ctx, team, key, 0, events); err == nil || errors.Is(err, eventlog.ErrConflict) {
			t.Fatalf("%s: AppendStream = %v, want a refusal that is not a conflict", name, err)
		}
	}
	if _, err := log.AppendStream(ctx, team, key, -2, threadEvents(team, key, 0, 1)); err == nil {
		t.Fatal("AppendStream accepted expected version -2")
	}
	for name, bad := range map[string]func() error{
		"no team":  func() error { _, err := log.ReadStream(ctx, "", key, 0, 10); return err },
		"no key":   func() error { _, err := log.ReadStream(ctx, team, "", 0, 10); return err },
		"no limit": func() error { _, err := log.ReadStream(ctx, team, key, 0, 0); return err },
	} {
		if bad() == nil {
			t.Fatalf("ReadStream with %s: no error", name)
		}
	}
	if recs := readAll(t, log, eventlog.Query{TeamID: team}); len(recs) != 0 {
		t.Fatalf("refused appends wrote %d events", len(recs))
	}
}

func testStreamVersionsSurviveReopen(t *testing.T, f Factory) {
	log := f.Open(t)
	team, key := NewTeamID(), domain.NewID(domain.PrefixProspect)
	events := threadEvents(team, key, 0, 3)
	mustAppend(t, log, events[0])
	mustAppendStream(t, log, team, key, 1, events[1:]...)
	log = f.Reopen(t, log)
	assertStream(t, log, team, key, events)
	_, err := log.AppendStream(context.Background(), team, key, 2, threadEvents(team, key, 10, 1))
	assertConflict(t, err, key, 2, 3)
	more := threadEvent(team, key, 20)
	if res := mustAppendStream(t, log, team, key, 3, more); res[0].Version != 4 {
		t.Fatalf("the first append after reopen got version %d, want 4", res[0].Version)
	}
	assertStream(t, log, team, key, append(events, more))
}
