package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// The stream index is rebuilt from the topic at start: a topic written by the previous
// release (no versions, no index rows) and a new database behind an existing topic both give
// every stream all its events, in log order, and appends continue after them.
func TestBackfillSQLiteIndex(t *testing.T) {
	runBackfillSuite(t, func(t *testing.T) DedupIndex { return openTestIndex(t) })
}

func TestBackfillPostgresIndex(t *testing.T) {
	url := testPostgresURL(t)
	runBackfillSuite(t, func(t *testing.T) DedupIndex { return openTestPostgresIndex(t, url) })
}

// stream is one stream's events as a test wrote them, in log order.
type stream struct {
	team, key string
	events    []domain.Event
}

func newStreams(n int) []*stream {
	out := make([]*stream, n)
	team := eventlogtest.NewTeamID()
	for i := range out {
		out[i] = &stream{team: team, key: domain.NewID(domain.PrefixProspect)}
	}
	return out
}

func (s *stream) next() domain.Event {
	return eventlogtest.NewEvent(s.team, s.key, domain.ThreadRead{ThreadID: fmt.Sprint("thr_", len(s.events)), ProspectID: s.key})
}

// produceUnversioned writes events as the release before stream versions did: straight to the
// topic, without a version header and without any index row. Streams take turns, so their
// records interleave in the partitions.
func produceUnversioned(t *testing.T, l *EventLog, streams []*stream, perStream int) {
	t.Helper()
	var msgs []*sarama.ProducerMessage
	for range perStream {
		for _, s := range streams {
			e := s.next()
			env, err := eventcodec.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, l.message(e, env, 0))
			s.events = append(s.events, e)
		}
	}
	for i := 0; i < len(msgs); i += 500 {
		if err := l.producer.SendMessages(msgs[i:min(i+500, len(msgs))]); err != nil {
			t.Fatal(err)
		}
	}
}

// checkStreams asserts that every stream reads back as written, versions 1…n.
func checkStreams(t *testing.T, l *EventLog, streams []*stream) {
	t.Helper()
	for _, s := range streams {
		recs, err := l.ReadStream(context.Background(), s.team, s.key, 0, len(s.events)+10)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(s.events) {
			t.Fatalf("stream %s reads back %d events, %d were written", s.key, len(recs), len(s.events))
		}
		for i, r := range recs {
			if r.Event.ID != s.events[i].ID || r.Version != int64(i+1) {
				t.Fatalf("stream %s version %d is %s (version %d), want %s", s.key, i+1, r.Event.ID, r.Version, s.events[i].ID)
			}
		}
	}
}

// checkAppendsContinue asserts that the stream takes its next version, and only that one, and
// that an old event appended again is a duplicate with its version.
func checkAppendsContinue(t *testing.T, l *EventLog, s *stream) {
	t.Helper()
	ctx := context.Background()
	n := int64(len(s.events))
	var ce *eventlog.ConflictError
	if _, err := l.AppendStream(ctx, s.team, s.key, 0, []domain.Event{s.next()}); !errors.As(err, &ce) || ce.Actual != n {
		t.Fatalf("AppendStream expecting an empty stream = %v, want a conflict at version %d", err, n)
	}
	e := s.next()
	res, err := l.AppendStream(ctx, s.team, s.key, n, []domain.Event{e})
	if err != nil || res[0].Version != n+1 || res[0].Duplicate {
		t.Fatalf("AppendStream at %d = %+v, %v, want version %d", n, res, err, n+1)
	}
	s.events = append(s.events, e)
	old := s.events[0]
	res, err = l.Append(ctx, []domain.Event{old})
	if err != nil || !res[0].Duplicate || res[0].Version != 1 {
		t.Fatalf("appending the first old event again = %+v, %v, want a duplicate at version 1", res, err)
	}
}

func runBackfillSuite(t *testing.T, openIndex func(t *testing.T) DedupIndex) {
	cluster := newCluster(t, kfake.NumBrokers(1))
	config := func(t *testing.T, topic string, x DedupIndex) Config {
		cfg := testConfig(t, cluster.ListenAddrs(), topic, x)
		cfg.BackfillBatch = 7 // many batches, so concurrent starts meet mid-partition
		return cfg
	}

	t.Run("PreviousReleaseTopic", func(t *testing.T) {
		t.Parallel()
		topic := "events-backfill-" + domain.NewID("")
		old := openTestLog(t, config(t, topic, openIndex(t)))
		streams := newStreams(5)
		produceUnversioned(t, old, streams, 12)
		// The index grew no rows: ReadStream misses them until the backfill ran.
		if recs, err := old.ReadStream(context.Background(), streams[0].team, streams[0].key, 0, 100); err != nil || len(recs) != 0 {
			t.Fatalf("before the backfill ReadStream = %d records, %v", len(recs), err)
		}
		_ = old.Close()

		idx := openIndex(t)
		l := openTestLog(t, config(t, topic, idx))
		checkStreams(t, l, streams)
		checkAppendsContinue(t, l, streams[0])
		checkStreams(t, l, streams)
		// Started again, it reads only what it has not recorded, and changes nothing.
		_ = l.Close()
		l = openTestLog(t, config(t, topic, idx))
		checkStreams(t, l, streams)
	})

	t.Run("NewDatabaseBehindExistingTopic", func(t *testing.T) {
		t.Parallel()
		topic := "events-backfill-" + domain.NewID("")
		old := openTestLog(t, config(t, topic, openIndex(t)))
		ctx := context.Background()
		streams := newStreams(3)
		for range 4 {
			for _, s := range streams {
				e := s.next()
				if _, err := old.AppendStream(ctx, s.team, s.key, int64(len(s.events)), []domain.Event{e}); err != nil {
					t.Fatal(err)
				}
				s.events = append(s.events, e)
			}
		}
		want, err := old.ReadStream(ctx, streams[1].team, streams[1].key, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		_ = old.Close()

		l := openTestLog(t, config(t, topic, openIndex(t)))
		checkStreams(t, l, streams)
		got, err := l.ReadStream(ctx, streams[1].team, streams[1].key, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i].Position != want[i].Position {
				t.Fatalf("version %d at %v, the old index had it at %v", i+1, got[i].Position, want[i].Position)
			}
		}
		checkAppendsContinue(t, l, streams[2])
	})

	t.Run("ConcurrentStarts", func(t *testing.T) {
		t.Parallel()
		topic := "events-backfill-" + domain.NewID("")
		old := openTestLog(t, config(t, topic, openIndex(t)))
		streams := newStreams(8)
		produceUnversioned(t, old, streams, 25)
		_ = old.Close()

		idx := openIndex(t)
		logs := make([]*EventLog, 4)
		var wg sync.WaitGroup
		for i := range logs {
			cfg := config(t, topic, idx)
			wg.Go(func() {
				l, err := OpenEventLog(context.Background(), cfg)
				if err != nil {
					t.Errorf("start %d: %v", i, err)
					return
				}
				t.Cleanup(func() { _ = l.Close() })
				logs[i] = l
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		for _, l := range logs {
			checkStreams(t, l, streams)
		}
		checkAppendsContinue(t, logs[3], streams[5])
	})
}
