package kafka

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// promptly bounds how long a call may take to fail while Kafka is unreachable.
const promptly = 5 * time.Second

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func outageEvent(team string, n int) domain.Event {
	return eventlogtest.NewEvent(team, team, domain.ThreadRead{ThreadID: "thr_" + strconv.Itoa(n), ProspectID: team})
}

// A consumer that records what its handler accepted.
type seen struct {
	mu  sync.Mutex
	ids []string
}

func (s *seen) handle(team string) eventlog.Handler {
	return func(_ context.Context, recs []eventlog.Record) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range recs {
			if r.Event.TeamID == team {
				s.ids = append(s.ids, r.Event.ID)
			}
		}
		return nil
	}
}

func (s *seen) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.ids, id)
}

// When Kafka goes away, calls fail within seconds and report nothing written; when it comes
// back (a broker restarted on the same port with its data), the same EventLog appends again
// and its consumer resumes, without reopening anything.
func TestEventLogSurvivesKafkaOutage(t *testing.T) {
	dir := t.TempDir()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(dir), kfake.GroupMinSessionTimeout(500 * time.Millisecond)}
	first, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	addr := first.ListenAddrs()[0]
	_, port, _ := net.SplitHostPort(addr)
	portNum, _ := strconv.Atoi(port)

	cfg := testConfig(t, []string{addr}, "events-outage", openTestIndex(t))
	cfg.Partitions = 3
	cfg.AppendTimeout = 3 * time.Second
	l := openTestLog(t, cfg)
	team := eventlogtest.NewTeamID()
	ctx := context.Background()

	var got seen
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	consumed := make(chan error, 1)
	go func() { consumed <- l.Consume(cctx, "outage-projection", got.handle(team)) }()

	before := outageEvent(team, 1)
	if _, err := l.Append(ctx, []domain.Event{before}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the first event consumed", 10*time.Second, func() bool { return got.has(before.ID) })

	first.Close()
	// A projection that starts while Kafka is away waits for it.
	var late seen
	lateDone := make(chan error, 1)
	go func() { lateDone <- l.Consume(cctx, "late-projection", late.handle(team)) }()

	during := outageEvent(team, 2)
	start := time.Now()
	res, err := l.Append(ctx, []domain.Event{during})
	if err == nil {
		t.Fatalf("Append with Kafka down = %+v, want an error", res)
	}
	if took := time.Since(start); took > promptly {
		t.Fatalf("Append with Kafka down took %v to fail", took)
	}
	t.Logf("Append with Kafka down failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	for name, call := range map[string]func() error{
		"Ping": func() error { return l.Ping(ctx) },
		"Head": func() error { _, err := l.Head(ctx); return err },
		"Read": func() error { _, err := l.Read(ctx, eventlog.Query{TeamID: team, Limit: 10}); return err },
	} {
		start := time.Now()
		if err := call(); err == nil {
			t.Fatalf("%s with Kafka down succeeded", name)
		}
		if took := time.Since(start); took > promptly {
			t.Fatalf("%s with Kafka down took %v to fail", name, took)
		}
		t.Logf("%s with Kafka down failed after %v", name, time.Since(start).Round(time.Millisecond))
	}

	// Kafka comes back on the same address, with its data.
	t.Logf("%v: Kafka restarts", time.Now().Format(time.StampMilli))
	second, err := kfake.NewCluster(append(opts, kfake.Ports(portNum))...)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	after := outageEvent(team, 3)
	waitUntil(t, "an append to succeed after Kafka returned", 30*time.Second, func() bool {
		_, err := l.Append(ctx, []domain.Event{after})
		if err != nil {
			t.Logf("Append after Kafka returned: %v", err)
		}
		return err == nil
	})
	// The event refused during the outage can be retried: it is written once.
	if _, err := l.Append(ctx, []domain.Event{during}); err != nil {
		t.Fatalf("retrying the refused event: %v", err)
	}
	if err := l.Ping(ctx); err != nil {
		t.Fatalf("Ping after Kafka returned: %v", err)
	}

	waitUntil(t, "the consumer to resume", 30*time.Second, func() bool { return got.has(after.ID) && got.has(during.ID) })
	t.Logf("%v: the consumer resumed", time.Now().Format(time.StampMilli))
	waitUntil(t, "the late consumer to start", 30*time.Second, func() bool {
		return late.has(before.ID) && late.has(during.ID) && late.has(after.ID)
	})
	t.Logf("%v: the late consumer caught up", time.Now().Format(time.StampMilli))
	var read []string
	q := eventlog.Query{TeamID: team, Limit: 100}
	recs, err := l.Read(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		read = append(read, r.Event.ID)
	}
	slices.Sort(read)
	want := []string{before.ID, during.ID, after.ID}
	slices.Sort(want)
	if !slices.Equal(read, want) {
		t.Fatalf("the log holds %v, want each of %v once", read, want)
	}

	stop()
	for _, done := range []chan error{consumed, lateDone} {
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Consume returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Consume did not stop")
		}
	}
}

// A log cannot open on an address where no broker listens; it says so within seconds.
func TestOpenEventLogFailsPromptlyWithoutKafka(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	cfg := testConfig(t, []string{addr}, "events-nowhere", openTestIndex(t))
	start := time.Now()
	l, err := OpenEventLog(context.Background(), cfg)
	if err == nil {
		l.Close()
		t.Fatal("OpenEventLog succeeded without Kafka")
	}
	if took := time.Since(start); took > promptly {
		t.Fatalf("OpenEventLog without Kafka took %v to fail", took)
	}
}
