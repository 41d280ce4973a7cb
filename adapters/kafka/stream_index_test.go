package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/adapters/eventindex"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// streamIndexCases run in runDedupIndexSuite, against every index.
var streamIndexCases = map[string]func(t *testing.T, x DedupIndex){
	"StreamClaimTakesNextVersions": testStreamIndexNextVersions,
	"StreamPendingClaimBlocks":     testStreamIndexPendingBlocks,
	"StreamExpectedVersion":        testStreamIndexExpected,
	"StreamExpiredClaimRecovered":  testStreamIndexRecover,
	"StreamConcurrentClaimsOneWin": testStreamIndexConcurrent,
}

func claimVersions(t *testing.T, x DedupIndex, owner string, lease time.Duration, claims ...eventindex.StreamClaim) ([]eventindex.StreamHead, bool) {
	t.Helper()
	heads, ok, err := x.ClaimVersions(context.Background(), owner, claims, lease)
	if err != nil {
		t.Fatalf("ClaimVersions(%s): %v", owner, err)
	}
	if len(heads) != len(claims) {
		t.Fatalf("ClaimVersions returned %d heads for %d claims", len(heads), len(claims))
	}
	return heads, ok
}

func newStream(expected int64, ids ...string) eventindex.StreamClaim {
	return eventindex.StreamClaim{TeamID: domain.NewID(domain.PrefixTeam), Key: domain.NewID(domain.PrefixProspect), Expected: expected, IDs: ids}
}

func testStreamIndexNextVersions(t *testing.T, x DedupIndex) {
	ctx := context.Background()
	e := ids(3)
	s1, s2 := newStream(eventlog.ExpectAny, e[0], e[1]), newStream(0, e[2])
	if heads, ok := claimVersions(t, x, "a", longLease, s1, s2); !ok || heads[0] != (eventindex.StreamHead{}) || heads[1] != (eventindex.StreamHead{}) {
		t.Fatalf("first claims: %v %+v, want granted from version 0", ok, heads)
	}
	// Unconfirmed versions are not readable yet.
	if vps, err := x.StreamPositions(ctx, s1.TeamID, s1.Key, 0, 10); err != nil || len(vps) != 0 {
		t.Fatalf("positions before confirm = %v, %v", vps, err)
	}
	written := map[string]eventlog.Position{e[0]: {Partition: 3, Offset: 10}, e[1]: {Partition: 3, Offset: 12}, e[2]: {Partition: 1, Offset: 4}}
	if err := x.Confirm(ctx, written); err != nil {
		t.Fatal(err)
	}
	vps, err := x.StreamPositions(ctx, s1.TeamID, s1.Key, 0, 10)
	want := []eventindex.VersionPosition{{Version: 1, Position: written[e[0]]}, {Version: 2, Position: written[e[1]]}}
	if err != nil || len(vps) != 2 || vps[0] != want[0] || vps[1] != want[1] {
		t.Fatalf("positions = %+v, %v, want %+v", vps, err, want)
	}
	if vps, _ := x.StreamPositions(ctx, s1.TeamID, s1.Key, 1, 10); len(vps) != 1 || vps[0].Version != 2 {
		t.Fatalf("positions after 1 = %+v", vps)
	}
	if v, err := x.VersionsOf(ctx, []string{e[1], e[2], "evt_unknown"}); err != nil || len(v) != 2 || v[e[1]] != 2 || v[e[2]] != 1 {
		t.Fatalf("VersionsOf = %v, %v", v, err)
	}
	next := ids(1)
	s1.IDs, s1.Expected = next, 2
	if heads, ok := claimVersions(t, x, "b", longLease, s1); !ok || heads[0].Version != 2 {
		t.Fatalf("next claim = %v %+v, want granted after version 2", ok, heads)
	}
}

func testStreamIndexPendingBlocks(t *testing.T, x DedupIndex) {
	ctx := context.Background()
	e := ids(2)
	s := newStream(eventlog.ExpectAny, e[0])
	claimVersions(t, x, "a", longLease, s)
	other := s
	other.IDs = e[1:]
	free := newStream(eventlog.ExpectAny, ids(1)...)
	heads, ok := claimVersions(t, x, "b", longLease, free, other)
	if ok || heads[1] != (eventindex.StreamHead{Version: 1, Pending: true, Live: true}) {
		t.Fatalf("claim behind a live claim = %v %+v, want refused", ok, heads)
	}
	// All or nothing: the free stream was not claimed either.
	if heads, ok := claimVersions(t, x, "c", longLease, newStream(eventlog.ExpectAny), free); !ok || heads[1].Version != 0 {
		t.Fatalf("the free stream after a refused claim = %v %+v", ok, heads)
	}
	// Only the owner releases; releasing an unpublished claim frees the version.
	if err := x.ReleaseVersions(ctx, "b", e[:1], false); err != nil {
		t.Fatal(err)
	}
	if _, ok := claimVersions(t, x, "b", longLease, other); ok {
		t.Fatal("another owner's release freed the claim")
	}
	if err := x.ReleaseVersions(ctx, "a", e[:1], false); err != nil {
		t.Fatal(err)
	}
	if heads, ok := claimVersions(t, x, "b", longLease, other); !ok || heads[0].Version != 0 {
		t.Fatalf("claim after release = %v %+v, want version 1 again", ok, heads)
	}
}

func testStreamIndexExpected(t *testing.T, x DedupIndex) {
	s := newStream(0, ids(2)...)
	claimVersions(t, x, "a", longLease, s)
	if err := x.Confirm(context.Background(), map[string]eventlog.Position{s.IDs[0]: {Offset: 1}, s.IDs[1]: {Offset: 2}}); err != nil {
		t.Fatal(err)
	}
	for _, expected := range []int64{0, 1, 3} {
		c := s
		c.Expected, c.IDs = expected, ids(1)
		if heads, ok := claimVersions(t, x, "b", longLease, c); ok || heads[0] != (eventindex.StreamHead{Version: 2}) {
			t.Fatalf("claim expecting %d = %v %+v, want refused at version 2", expected, ok, heads)
		}
	}
}

func testStreamIndexRecover(t *testing.T, x DedupIndex) {
	ctx := context.Background()
	s := newStream(eventlog.ExpectAny, ids(2)...)
	claimVersions(t, x, "dead", 10*time.Millisecond, s)
	time.Sleep(50 * time.Millisecond)
	c := s
	c.IDs = ids(1)
	if heads, ok := claimVersions(t, x, "next", longLease, c); ok || heads[0] != (eventindex.StreamHead{Version: 2, Pending: true}) {
		t.Fatalf("claim behind an expired claim = %v %+v", ok, heads)
	}
	pending, err := x.RecoverVersions(ctx, "next", s.TeamID, s.Key, longLease)
	if err != nil || len(pending) != 2 || pending[0].Version != 1 || pending[0].EventID != s.IDs[0] || pending[1].EventID != s.IDs[1] {
		t.Fatalf("RecoverVersions = %+v, %v", pending, err)
	}
	// Taken over: nobody else gets them, and the dead owner's late release changes nothing.
	if again, err := x.RecoverVersions(ctx, "third", s.TeamID, s.Key, longLease); err != nil || len(again) != 0 {
		t.Fatalf("second RecoverVersions = %+v, %v", again, err)
	}
	if err := x.ReleaseVersions(ctx, "dead", s.IDs, false); err != nil {
		t.Fatal(err)
	}
	// The first was written, the second not.
	if err := x.Confirm(ctx, map[string]eventlog.Position{s.IDs[0]: {Offset: 7}}); err != nil {
		t.Fatal(err)
	}
	if err := x.ReleaseVersions(ctx, "next", s.IDs[1:], false); err != nil {
		t.Fatal(err)
	}
	if heads, ok := claimVersions(t, x, "next", longLease, c); !ok || heads[0].Version != 1 {
		t.Fatalf("claim after recovery = %v %+v, want version 2", ok, heads)
	}
}

func testStreamIndexConcurrent(t *testing.T, x DedupIndex) {
	s := newStream(eventlog.ExpectAny)
	const claimers = 8
	wins := make([]bool, claimers)
	var wg sync.WaitGroup
	for i := range claimers {
		c := s
		c.IDs = ids(2)
		wg.Go(func() {
			_, ok, err := x.ClaimVersions(context.Background(), domain.NewID(""), []eventindex.StreamClaim{c}, longLease)
			if err != nil {
				t.Errorf("ClaimVersions: %v", err)
			}
			wins[i] = ok
		})
	}
	wg.Wait()
	n := 0
	for _, w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d of %d concurrent claims of one stream won, want 1", n, claimers)
	}
}

// The version claims Append meets when another process appended to the stream and died.
func TestAppendStreamRecoversDeadAppenders(t *testing.T) {
	cluster := newCluster(t, kfake.NumBrokers(1))
	open := func(t *testing.T) (*EventLog, DedupIndex, string) {
		idx := openTestIndex(t)
		l := openTestLog(t, testConfig(t, cluster.ListenAddrs(), "events-streams-"+domain.NewID(""), idx))
		return l, idx, eventlogtest.NewTeamID()
	}
	event := func(team string, n int) domain.Event {
		return eventlogtest.NewEvent(team, team, domain.ThreadRead{ThreadID: "thr_" + string(rune('a'+n)), ProspectID: team})
	}
	deadClaim := func(t *testing.T, idx DedupIndex, e domain.Event) {
		t.Helper()
		if _, ok := claimVersions(t, idx, "dead-process", 10*time.Millisecond, eventindex.StreamClaim{TeamID: e.TeamID, Key: e.Key, Expected: 0, IDs: []string{e.ID}}); !ok {
			t.Fatal("the dead process's claim was refused")
		}
		claim(t, idx, "dead-process", 10*time.Millisecond, e.ID)
		time.Sleep(50 * time.Millisecond)
	}

	t.Run("DiedBeforePublishing", func(t *testing.T) {
		t.Parallel()
		l, idx, team := open(t)
		dead := event(team, 0)
		deadClaim(t, idx, dead)
		// Its version is free again: the stream is at 0.
		e := event(team, 1)
		res, err := l.AppendStream(context.Background(), team, team, 0, []domain.Event{e})
		if err != nil || res[0].Version != 1 {
			t.Fatalf("AppendStream at 0 = %+v, %v, want version 1", res, err)
		}
		recs, err := l.ReadStream(context.Background(), team, team, 0, 10)
		if err != nil || len(recs) != 1 || recs[0].Event.ID != e.ID {
			t.Fatalf("ReadStream = %v, %v", recs, err)
		}
	})

	t.Run("DiedAfterPublishing", func(t *testing.T) {
		t.Parallel()
		l, idx, team := open(t)
		dead := event(team, 0)
		deadClaim(t, idx, dead)
		env, err := eventcodec.Marshal(dead)
		if err != nil {
			t.Fatal(err)
		}
		msg := l.message(dead, env, 1)
		if err := l.producer.SendMessages([]*sarama.ProducerMessage{msg}); err != nil {
			t.Fatal(err)
		}
		// Its event is version 1: a writer that expects an empty stream conflicts.
		_, err = l.AppendStream(context.Background(), team, team, 0, []domain.Event{event(team, 1)})
		var ce *eventlog.ConflictError
		if !errors.As(err, &ce) || ce.Actual != 1 {
			t.Fatalf("AppendStream at 0 = %v, want a conflict at version 1", err)
		}
		recs, err := l.ReadStream(context.Background(), team, team, 0, 10)
		want := eventlog.Position{Partition: msg.Partition, Offset: msg.Offset}
		if err != nil || len(recs) != 1 || recs[0].Event.ID != dead.ID || recs[0].Position != want || recs[0].Version != 1 {
			t.Fatalf("ReadStream = %+v, %v, want the dead process's event at version 1", recs, err)
		}
		// A retry of the dead process's event is a duplicate, with its version.
		res, err := l.AppendStream(context.Background(), team, team, 0, []domain.Event{dead})
		if err != nil || !res[0].Duplicate || res[0].Version != 1 || res[0].Position != want {
			t.Fatalf("re-append = %+v, %v", res, err)
		}
	})
}

// A process that died between publishing and confirming leaves live claims (their lease is
// ClaimLease, minutes): the next append on the stream finds the event in the topic after
// ClaimCheckAfter, confirms it and goes on, without a second event at its version. One that
// died before publishing keeps its version until the lease ends: its publish might still
// land, so the next append waits and fails, and writes nothing.
func TestAppendStreamConfirmsCrashedAppendPromptly(t *testing.T) {
	cluster := newCluster(t, kfake.NumBrokers(1))
	open := func(t *testing.T) (*EventLog, DedupIndex, string) {
		idx := openTestIndex(t)
		cfg := testConfig(t, cluster.ListenAddrs(), "events-crash-"+domain.NewID(""), idx)
		cfg.ClaimCheckAfter = 200 * time.Millisecond
		return openTestLog(t, cfg), idx, eventlogtest.NewTeamID()
	}
	event := func(team string, n int) domain.Event {
		return eventlogtest.NewEvent(team, team, domain.ThreadRead{ThreadID: fmt.Sprint("thr_", n), ProspectID: team})
	}
	crashedClaim := func(t *testing.T, idx DedupIndex, e domain.Event) {
		t.Helper()
		if _, ok := claimVersions(t, idx, "crashed-process", longLease, eventindex.StreamClaim{TeamID: e.TeamID, Key: e.Key, Expected: 0, IDs: []string{e.ID}}); !ok {
			t.Fatal("the crashed process's claim was refused")
		}
		claim(t, idx, "crashed-process", longLease, e.ID)
	}
	versionsInLog := func(t *testing.T, l *EventLog, team string) map[int64][]string {
		t.Helper()
		recs, err := l.Read(context.Background(), eventlog.Query{TeamID: team, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64][]string{}
		for _, r := range recs {
			out[r.Version] = append(out[r.Version], r.Event.ID)
		}
		return out
	}

	t.Run("CrashedAfterPublishing", func(t *testing.T) {
		t.Parallel()
		l, idx, team := open(t)
		dead := event(team, 0)
		crashedClaim(t, idx, dead)
		env, err := eventcodec.Marshal(dead)
		if err != nil {
			t.Fatal(err)
		}
		msg := l.message(dead, env, 1)
		if err := l.producer.SendMessages([]*sarama.ProducerMessage{msg}); err != nil {
			t.Fatal(err)
		}
		// Well within the claim's lease (a minute) and the append's timeout (5s).
		start := time.Now()
		e := event(team, 1)
		res, err := l.AppendStream(context.Background(), team, team, 1, []domain.Event{e})
		if err != nil || res[0].Version != 2 {
			t.Fatalf("AppendStream at 1 behind a crashed append = %+v, %v, want version 2", res, err)
		}
		t.Logf("the append behind the crashed one took %v", time.Since(start).Round(time.Millisecond))
		recs, err := l.ReadStream(context.Background(), team, team, 0, 10)
		if err != nil || len(recs) != 2 || recs[0].Event.ID != dead.ID || recs[1].Event.ID != e.ID {
			t.Fatalf("ReadStream = %+v, %v, want the crashed process's event then the new one", recs, err)
		}
		v := versionsInLog(t, l, team)
		if len(v[1]) != 1 || len(v[2]) != 1 || len(v) != 2 {
			t.Fatalf("versions in the topic = %v, want one event at 1 and one at 2", v)
		}
		// The crashed process's event id is known too: appending it again is a duplicate.
		if res, err := l.Append(context.Background(), []domain.Event{dead}); err != nil || !res[0].Duplicate || res[0].Version != 1 {
			t.Fatalf("re-append of the crashed process's event = %+v, %v", res, err)
		}
	})

	t.Run("CrashedAfterPublishingThenRetried", func(t *testing.T) {
		t.Parallel()
		// The crashed process's own event comes again (a platform retrying its webhook): its
		// id is claimed by the dead process, and is found in the log.
		l, idx, team := open(t)
		dead := event(team, 0)
		crashedClaim(t, idx, dead)
		env, err := eventcodec.Marshal(dead)
		if err != nil {
			t.Fatal(err)
		}
		msg := l.message(dead, env, 1)
		if err := l.producer.SendMessages([]*sarama.ProducerMessage{msg}); err != nil {
			t.Fatal(err)
		}
		res, err := l.AppendStream(context.Background(), team, team, 0, []domain.Event{dead})
		want := eventlog.Position{Partition: msg.Partition, Offset: msg.Offset}
		if err != nil || !res[0].Duplicate || res[0].Version != 1 || res[0].Position != want {
			t.Fatalf("the retried event = %+v, %v, want a duplicate at version 1 at %v", res, err, want)
		}
		if v := versionsInLog(t, l, team); len(v) != 1 || len(v[1]) != 1 {
			t.Fatalf("versions in the topic = %v, want the one event", v)
		}
	})

	t.Run("CrashedBeforePublishing", func(t *testing.T) {
		t.Parallel()
		l, idx, team := open(t)
		crashedClaim(t, idx, event(team, 0))
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		if res, err := l.AppendStream(ctx, team, team, eventlog.ExpectAny, []domain.Event{event(team, 1)}); err == nil {
			t.Fatalf("AppendStream behind a live claim whose event is not in the log = %+v, want an error", res)
		}
		if v := versionsInLog(t, l, team); len(v) != 0 {
			t.Fatalf("the topic holds %v, want nothing", v)
		}
	})
}
