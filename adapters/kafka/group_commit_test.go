package kafka

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/adapters/eventindex"
	"github.com/switchboard-oss/switchboard/adapters/postgres"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

var _ versionGroupClaimer = (*postgres.EventIndex)(nil)

// groupIndexes are the indexes the group commit tests run with: PostgreSQL claims a group's
// versions in one statement, SQLite one append at a time.
var groupIndexes = []string{"postgres", "sqlite"}

// openGroupLog opens a log on a one-broker cluster with the named index.
func openGroupLog(t *testing.T, index string) (*EventLog, DedupIndex) {
	t.Helper()
	var idx DedupIndex
	if index == "postgres" {
		idx = openTestPostgresIndex(t, testPostgresURL(t))
	} else {
		idx = openTestIndex(t)
	}
	cluster := newCluster(t, kfake.NumBrokers(1))
	return openTestLog(t, testConfig(t, cluster.ListenAddrs(), "events-group-"+domain.NewID(""), idx)), idx
}

// holdGroups stops the log from starting group commits: appends queue up. The returned
// function waits until n calls are queued, then lets them go, so they start as one group
// (less what takeGroup leaves for later).
func holdGroups(t *testing.T, l *EventLog) func(n int) {
	l.groupMu.Lock()
	if l.draining {
		l.groupMu.Unlock()
		t.Fatal("a group commit is running")
	}
	l.draining = true
	l.active.Add(1)
	l.groupMu.Unlock()
	return func(n int) {
		for {
			l.groupMu.Lock()
			queued := len(l.queue)
			l.groupMu.Unlock()
			if queued >= n {
				break
			}
			time.Sleep(time.Millisecond)
		}
		go l.drain()
	}
}

// logByID reads the team's whole log: every event id with all its records.
func logByID(t *testing.T, l *EventLog, team string) map[string][]eventlog.Record {
	t.Helper()
	recs, err := l.Read(context.Background(), eventlog.Query{TeamID: team, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]eventlog.Record{}
	for _, r := range recs {
		out[r.Event.ID] = append(out[r.Event.ID], r)
	}
	return out
}

// Many callers append overlapping sets of events at once: each event is in the log exactly
// once, written by exactly one caller, and every caller is told where it is and its version.
func TestGroupCommitOverlappingDuplicates(t *testing.T) {
	for _, index := range groupIndexes {
		t.Run(index, func(t *testing.T) {
			t.Parallel()
			l, _ := openGroupLog(t, index)
			team := eventlogtest.NewTeamID()
			keys := make([]string, 6)
			for i := range keys {
				keys[i] = domain.NewID(domain.PrefixProspect)
			}
			pool := make([]domain.Event, 40)
			for i := range pool {
				pool[i] = eventlogtest.NewEvent(team, keys[i%len(keys)], domain.ThreadRead{ThreadID: "thr_1", ProspectID: keys[i%len(keys)]})
			}
			const callers, rounds = 24, 3
			type call struct {
				events []domain.Event
				res    []eventlog.AppendResult
			}
			calls := make([][]call, callers)
			rng := rand.New(rand.NewPCG(1, 2))
			for c := range calls {
				for range rounds {
					batch := make([]domain.Event, 3) // may hold an event twice
					for k := range batch {
						batch[k] = pool[rng.IntN(len(pool))]
					}
					calls[c] = append(calls[c], call{events: batch})
				}
			}
			start := holdGroups(t, l)
			var wg sync.WaitGroup
			for c := range calls {
				wg.Go(func() {
					for r := range calls[c] {
						res, err := l.Append(context.Background(), calls[c][r].events)
						if err != nil {
							t.Errorf("caller %d: %v", c, err)
							return
						}
						calls[c][r].res = res
					}
				})
			}
			start(callers)
			wg.Wait()
			if t.Failed() {
				return
			}

			inLog := logByID(t, l, team)
			writes := map[string]int{}
			appended := map[string]bool{}
			for _, cs := range calls {
				for _, c := range cs {
					for i, e := range c.events {
						appended[e.ID] = true
						recs := inLog[e.ID]
						if len(recs) != 1 {
							t.Fatalf("event %s is in the log %d times", e.ID, len(recs))
						}
						if got := c.res[i]; got.Position != recs[0].Position || got.Version != recs[0].Version {
							t.Fatalf("event %s reported at %v version %d, the log has it at %v version %d", e.ID, got.Position, got.Version, recs[0].Position, recs[0].Version)
						}
						if !c.res[i].Duplicate {
							writes[e.ID]++
						}
					}
				}
			}
			if len(inLog) != len(appended) {
				t.Fatalf("the log holds %d events, %d were appended", len(inLog), len(appended))
			}
			for id := range appended {
				if writes[id] != 1 {
					t.Fatalf("event %s reported written %d times, want once", id, writes[id])
				}
			}
			// Each stream's versions are 1..n, without gaps or repeats.
			byKey := map[string][]int64{}
			for _, recs := range inLog {
				byKey[recs[0].Event.Key] = append(byKey[recs[0].Event.Key], recs[0].Version)
			}
			for key, vs := range byKey {
				slices.Sort(vs)
				for i, v := range vs {
					if v != int64(i+1) {
						t.Fatalf("stream %s has versions %v", key, vs)
					}
				}
			}
		})
	}
}

// Callers with version conditions start together: of two with the same expected version on a
// stream exactly one wins and the other gets a conflict, with nothing of it in the log; a
// stale condition fails alone; plain appends beside them all succeed.
func TestGroupCommitStreamConditions(t *testing.T) {
	for _, index := range groupIndexes {
		t.Run(index, func(t *testing.T) {
			t.Parallel()
			l, _ := openGroupLog(t, index)
			ctx := context.Background()
			team := eventlogtest.NewTeamID()
			newEvent := func(key string) domain.Event {
				return eventlogtest.NewEvent(team, key, domain.ThreadRead{ThreadID: "thr_1", ProspectID: key})
			}
			const streams = 6
			keys := make([]string, streams)
			for i := range keys {
				keys[i] = domain.NewID(domain.PrefixProspect)
				if _, err := l.AppendStream(ctx, team, keys[i], 0, []domain.Event{newEvent(keys[i])}); err != nil {
					t.Fatal(err)
				}
			}
			type outcome struct {
				event domain.Event
				res   []eventlog.AppendResult
				err   error
			}
			racers := make([][2]outcome, streams) // both expect version 1
			stale := make([]outcome, streams)     // expects version 7
			plain := make([]outcome, streams)     // Append on streams of their own
			for i, k := range keys {
				racers[i] = [2]outcome{{event: newEvent(k)}, {event: newEvent(k)}}
				stale[i] = outcome{event: newEvent(k)}
				plain[i] = outcome{event: newEvent(domain.NewID(domain.PrefixProspect))}
			}
			start := holdGroups(t, l)
			var wg sync.WaitGroup
			for i, k := range keys {
				for j := range 2 {
					wg.Go(func() {
						o := &racers[i][j]
						o.res, o.err = l.AppendStream(ctx, team, k, 1, []domain.Event{o.event})
					})
				}
				wg.Go(func() { stale[i].res, stale[i].err = l.AppendStream(ctx, team, k, 7, []domain.Event{stale[i].event}) })
				wg.Go(func() { plain[i].res, plain[i].err = l.Append(ctx, []domain.Event{plain[i].event}) })
			}
			start(4 * streams)
			wg.Wait()

			inLog := logByID(t, l, team)
			for i, k := range keys {
				var winner, loser *outcome
				for j := range 2 {
					o := &racers[i][j]
					var ce *eventlog.ConflictError
					switch {
					case o.err == nil && winner == nil:
						winner = o
					case errors.As(o.err, &ce) && loser == nil:
						if ce.Key != k || ce.Expected != 1 || ce.Actual != 2 {
							t.Fatalf("loser's conflict = %+v, want stream %s at 2, not 1", ce, k)
						}
						loser = o
					default:
						t.Fatalf("stream %s: racers got %v and %v, want one success and one conflict", k, racers[i][0].err, racers[i][1].err)
					}
				}
				if winner.res[0].Version != 2 || winner.res[0].Duplicate {
					t.Fatalf("winner = %+v, want a write at version 2", winner.res[0])
				}
				if recs := inLog[winner.event.ID]; len(recs) != 1 || recs[0].Position != winner.res[0].Position {
					t.Fatalf("winner's event in the log: %+v, reported at %v", recs, winner.res[0].Position)
				}
				if recs := inLog[loser.event.ID]; len(recs) != 0 {
					t.Fatalf("the loser's event is in the log: %+v", recs)
				}
				var ce *eventlog.ConflictError
				if !errors.As(stale[i].err, &ce) || ce.Expected != 7 {
					t.Fatalf("stale condition: %v, want a conflict", stale[i].err)
				}
				if recs := inLog[stale[i].event.ID]; len(recs) != 0 {
					t.Fatalf("the stale caller's event is in the log: %+v", recs)
				}
				if plain[i].err != nil || plain[i].res[0].Duplicate {
					t.Fatalf("plain append beside them: %+v, %v", plain[i].res, plain[i].err)
				}
				// The loser's claims are gone: it retries at the stream's version and writes.
				res, err := l.AppendStream(ctx, team, k, 2, []domain.Event{loser.event})
				if err != nil || res[0].Duplicate || res[0].Version != 3 {
					t.Fatalf("loser's retry = %+v, %v, want a write at version 3", res, err)
				}
			}
		})
	}
}

type victimKey struct{}

// A caller gives up while its group is at work: the others are written, and its events are
// either not in the log (it gave up before the publish) or in it and confirmed (during): a
// retry writes them, or reports them where they are.
func TestGroupCommitCallerGivesUp(t *testing.T) {
	for _, index := range groupIndexes {
		for _, stage := range []string{"claimed", "publishing"} {
			t.Run(index+"/"+stage, func(t *testing.T) {
				t.Parallel()
				l, _ := openGroupLog(t, index)
				team := eventlogtest.NewTeamID()
				newEvents := func(n int) []domain.Event {
					key := domain.NewID(domain.PrefixProspect)
					out := make([]domain.Event, n)
					for i := range out {
						out[i] = eventlogtest.NewEvent(team, key, domain.ThreadRead{ThreadID: "thr_1", ProspectID: key})
					}
					return out
				}
				victimCtx, giveUp := context.WithCancel(context.WithValue(context.Background(), victimKey{}, true))
				defer giveUp()
				hit := make(chan struct{})
				var once sync.Once
				l.groupHook = func(s string, calls []*appendCall) {
					for _, a := range calls {
						if s == stage && a.ctx.Value(victimKey{}) != nil {
							once.Do(func() {
								giveUp()
								close(hit)
							})
						}
					}
				}
				victim := newEvents(2)
				const others = 8
				otherEvents := make([][]domain.Event, others)
				otherRes := make([][]eventlog.AppendResult, others)
				start := holdGroups(t, l)
				var wg sync.WaitGroup
				var victimErr error
				wg.Go(func() { _, victimErr = l.Append(victimCtx, victim) })
				for i := range others {
					otherEvents[i] = newEvents(2)
					wg.Go(func() {
						var err error
						if otherRes[i], err = l.Append(context.Background(), otherEvents[i]); err != nil {
							t.Errorf("another caller: %v", err)
						}
					})
				}
				start(others + 1)
				wg.Wait()
				<-hit
				// Given up during the publish, the caller may still be told the truth: written.
				if !errors.Is(victimErr, context.Canceled) && (stage != "publishing" || victimErr != nil) {
					t.Fatalf("the caller that gave up at %s got %v, want context.Canceled", stage, victimErr)
				}
				// The retry waits for a publish that outlived its caller.
				res, err := l.Append(context.Background(), victim)
				if err != nil {
					t.Fatal(err)
				}
				inLog := logByID(t, l, team)
				for i, e := range victim {
					if recs := inLog[e.ID]; len(recs) != 1 || recs[0].Position != res[i].Position {
						t.Fatalf("victim's event %d: in the log %+v, retry reports %+v", i, recs, res[i])
					}
					// Given up before the publish: nothing was written, the retry writes. During:
					// the events are in the log, the retry reports them.
					if wantDup := stage == "publishing"; res[i].Duplicate != wantDup {
						t.Fatalf("victim's retry after giving up at %s = %+v, want duplicate %v", stage, res[i], wantDup)
					}
				}
				for i, es := range otherEvents {
					for j, e := range es {
						if recs := inLog[e.ID]; len(recs) != 1 || recs[0].Position != otherRes[i][j].Position || otherRes[i][j].Duplicate {
							t.Fatalf("another caller's event: in the log %+v, reported %+v", recs, otherRes[i][j])
						}
					}
				}
			})
		}
	}
}

var errInjected = errors.New("injected index failure")

// failingIndex is the PostgreSQL index failing the next claim of ids or of versions, once.
type failingIndex struct {
	*postgres.EventIndex
	mu   sync.Mutex
	fail string // "claim", "versions" or ""
}

func (f *failingIndex) take(op string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == op {
		f.fail = ""
		return true
	}
	return false
}

func (f *failingIndex) Claim(ctx context.Context, owner string, ids []string, lease time.Duration) (map[string]eventlog.Position, map[string]time.Time, []string, error) {
	if f.take("claim") {
		return nil, nil, nil, errInjected
	}
	return f.EventIndex.Claim(ctx, owner, ids, lease)
}

func (f *failingIndex) ClaimVersionGroups(ctx context.Context, owner string, groups [][]eventindex.StreamClaim, lease time.Duration) ([][]eventindex.StreamHead, []bool, error) {
	if f.take("versions") {
		return nil, nil, errInjected
	}
	return f.EventIndex.ClaimVersionGroups(ctx, owner, groups, lease)
}

// The index fails a group's claims: every call of the group fails with the error, at once,
// and leaves no claim behind, so retries write every event once, with gapless versions.
func TestGroupCommitIndexFailure(t *testing.T) {
	url := testPostgresURL(t)
	for _, op := range []string{"claim", "versions"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			idx := &failingIndex{EventIndex: openTestPostgresIndex(t, url), fail: op}
			cluster := newCluster(t, kfake.NumBrokers(1))
			cfg := testConfig(t, cluster.ListenAddrs(), "events-group-"+domain.NewID(""), idx)
			cfg.AppendTimeout = time.Minute // a hang would show as a deadline, not as the error
			l := openTestLog(t, cfg)
			team := eventlogtest.NewTeamID()
			key := domain.NewID(domain.PrefixProspect)
			const callers = 8
			batches := make([][]domain.Event, callers)
			for i := range batches {
				k := domain.NewID(domain.PrefixProspect)
				if i%2 == 0 {
					k = key // half of them on one stream: they take turns
				}
				batches[i] = []domain.Event{
					eventlogtest.NewEvent(team, k, domain.ThreadRead{ThreadID: "thr_1", ProspectID: k}),
					eventlogtest.NewEvent(team, k, domain.ThreadRead{ThreadID: "thr_1", ProspectID: k}),
				}
			}
			start := holdGroups(t, l)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range batches {
				wg.Go(func() { _, errs[i] = l.Append(context.Background(), batches[i]) })
			}
			start(callers)
			wg.Wait()
			failed := 0
			for i, err := range errs {
				switch {
				case errors.Is(err, errInjected):
					failed++
				case err != nil:
					t.Fatalf("caller %d: %v, want the index's error or success", i, err)
				}
			}
			// The first group holds every caller but those left for later (same stream).
			if failed < callers/2 {
				t.Fatalf("%d callers failed with the index's error, want the first group's %d at least", failed, callers/2)
			}
			for i, b := range batches {
				res, err := l.Append(context.Background(), b)
				if err != nil {
					t.Fatalf("retry %d: %v", i, err)
				}
				if (errs[i] != nil) == res[0].Duplicate {
					t.Fatalf("retry %d after %v = %+v", i, errs[i], res)
				}
			}
			inLog := logByID(t, l, team)
			var versions []int64
			for _, b := range batches {
				for _, e := range b {
					if len(inLog[e.ID]) != 1 {
						t.Fatalf("event %s is in the log %d times", e.ID, len(inLog[e.ID]))
					}
					if e.Key == key {
						versions = append(versions, inLog[e.ID][0].Version)
					}
				}
			}
			slices.Sort(versions)
			for i, v := range versions {
				if v != int64(i+1) {
					t.Fatalf("the shared stream's versions are %v", versions)
				}
			}
		})
	}
}

// ClaimVersionGroups decides each group alone, in one statement.
func TestClaimVersionGroupsPostgres(t *testing.T) {
	idx := openTestPostgresIndex(t, testPostgresURL(t))
	ctx := context.Background()
	e := ids(5)
	busy := newStream(eventlog.ExpectAny, e[0])
	if _, ok := claimVersions(t, idx, "other", longLease, busy); !ok {
		t.Fatal("setup claim refused")
	}
	good := []eventindex.StreamClaim{newStream(0, e[1]), newStream(eventlog.ExpectAny, e[2])}
	stale := []eventindex.StreamClaim{newStream(eventlog.ExpectAny, e[3]), newStream(4, e[4])}
	waiting := []eventindex.StreamClaim{{TeamID: busy.TeamID, Key: busy.Key, Expected: eventlog.ExpectAny, IDs: []string{"evt_waiting"}}}
	heads, oks, err := idx.ClaimVersionGroups(ctx, "group", [][]eventindex.StreamClaim{good, stale, waiting}, longLease)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(oks, []bool{true, false, false}) {
		t.Fatalf("oks = %v, want only the first group granted", oks)
	}
	if len(heads[1]) != 2 || heads[1][1] != (eventindex.StreamHead{}) || !heads[2][0].Pending || !heads[2][0].Live || heads[2][0].Version != 1 {
		t.Fatalf("heads = %+v", heads)
	}
	vs, err := idx.VersionsOf(ctx, []string{e[1], e[2], e[3], e[4], "evt_waiting"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[e[1]] != 1 || vs[e[2]] != 1 {
		t.Fatalf("versions claimed = %v, want the first group's only", vs)
	}
}
