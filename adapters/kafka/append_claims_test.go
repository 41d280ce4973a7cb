package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// The claims Append meets when other processes appended the same event and failed halfway.
func TestAppendClaims(t *testing.T) {
	cluster := newCluster(t, kfake.NumBrokers(1))
	open := func(t *testing.T) (*EventLog, DedupIndex, domain.Event) {
		idx := openTestIndex(t)
		l := openTestLog(t, testConfig(t, cluster.ListenAddrs(), "events-claims-"+domain.NewID(""), idx))
		team := eventlogtest.NewTeamID()
		return l, idx, eventlogtest.NewEvent(team, team, domain.ThreadRead{ThreadID: "thr_1", ProspectID: team})
	}
	count := func(t *testing.T, l *EventLog, e domain.Event) int {
		t.Helper()
		recs, err := l.Read(context.Background(), eventlog.Query{TeamID: e.TeamID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}

	t.Run("AcknowledgementLost", func(t *testing.T) {
		t.Parallel()
		// A process claimed the event, Kafka stored it, and the process died before it
		// recorded the position: its lease runs out.
		l, idx, e := open(t)
		claim(t, idx, "dead-process", 10*time.Millisecond, e.ID)
		env, err := eventcodec.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		msg := l.message(e, env, 0)
		if err := l.producer.SendMessages([]*sarama.ProducerMessage{msg}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		res, err := l.Append(context.Background(), []domain.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		want := eventlog.Position{Partition: msg.Partition, Offset: msg.Offset}
		if !res[0].Duplicate || res[0].Position != want {
			t.Fatalf("Append = %+v, want a duplicate at %v", res[0], want)
		}
		if n := count(t, l, e); n != 1 {
			t.Fatalf("the log holds %d copies", n)
		}
		// The position is recorded now: no more looking.
		if o := claim(t, idx, "next", time.Minute, e.ID); o.written[e.ID] != want {
			t.Fatalf("index after recovery: %+v", o)
		}
	})

	t.Run("ClaimerDiedBeforePublishing", func(t *testing.T) {
		t.Parallel()
		l, idx, e := open(t)
		claim(t, idx, "dead-process", 10*time.Millisecond, e.ID)
		time.Sleep(50 * time.Millisecond)
		res, err := l.Append(context.Background(), []domain.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Duplicate {
			t.Fatalf("Append = %+v, want a write", res[0])
		}
		if n := count(t, l, e); n != 1 {
			t.Fatalf("the log holds %d copies", n)
		}
	})

	t.Run("LiveClaimIsWaitedFor", func(t *testing.T) {
		t.Parallel()
		l, idx, e := open(t)
		claim(t, idx, "other-process", time.Minute, e.ID)
		// While the other holds it, Append waits, and gives up without reporting a write.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if res, err := l.Append(ctx, []domain.Event{e}); err == nil {
			t.Fatalf("Append under another's claim = %+v, want an error", res)
		}
		// The other writes it: a waiting Append reports the other's position.
		pos := eventlog.Position{Partition: 0, Offset: 42}
		go func() {
			time.Sleep(200 * time.Millisecond)
			_ = idx.Confirm(context.Background(), map[string]eventlog.Position{e.ID: pos})
		}()
		res, err := l.Append(context.Background(), []domain.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Duplicate || res[0].Position != pos {
			t.Fatalf("Append after the other wrote = %+v, want a duplicate at %v", res[0], pos)
		}
	})

	t.Run("UnpublishedClaimReleased", func(t *testing.T) {
		t.Parallel()
		l, idx, e := open(t)
		claim(t, idx, "other-process", time.Minute, e.ID)
		go func() {
			time.Sleep(200 * time.Millisecond)
			_ = idx.Release(context.Background(), "other-process", []string{e.ID}, false)
		}()
		res, err := l.Append(context.Background(), []domain.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Duplicate {
			t.Fatalf("Append = %+v, want a write", res[0])
		}
		if n := count(t, l, e); n != 1 {
			t.Fatalf("the log holds %d copies", n)
		}
	})
}
