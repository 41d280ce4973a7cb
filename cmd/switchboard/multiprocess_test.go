package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// TestSeparateProcessesOnKafkaAndPostgres runs an API process and projector processes as real
// OS processes on Kafka (kfake) + PostgreSQL: what the API acknowledges becomes visible through
// the API; stopping and restarting the projector loses and duplicates nothing; two projectors in
// one group share the partitions and produce the same read model; killing one hands its
// partitions to the other.
func TestSeparateProcessesOnKafkaAndPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	scale := []string{"--kafka-brokers", brokers, "--postgres-url", pg, "--kafka-partitions", "6",
		"--kafka-session-timeout", "3s", "--kafka-heartbeat-interval", "300ms", "--kafka-rebalance-timeout", "3s"}
	projectorArgs := append([]string{"--roles", "projector"}, scale...)

	p1Dir := t.TempDir()
	p1 := startProcess(t, p1Dir, projectorArgs...)
	apiProc := startProcess(t, t.TempDir(), append([]string{"--roles", "api,ingest"}, scale...)...)
	base := "http://" + apiProc.addr
	ctx := context.Background()
	link, err := switchboardv1connect.NewAccountServiceClient(http.DefaultClient, base).LinkAccount(ctx,
		authed(&v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API, PlatformId: "mp-shop"}))
	if err != nil {
		t.Fatal(err)
	}
	acc := link.Msg.AccountLink.Id
	ingest := switchboardv1connect.NewIngestServiceClient(http.DefaultClient, base)
	threads := switchboardv1connect.NewThreadServiceClient(http.DefaultClient, base)

	want := map[string]int{} // prospect → messages acknowledged
	var mu sync.Mutex
	send := func(prospects, perProspect int, tag string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, prospects*perProspect)
		for p := 0; p < prospects; p++ {
			wg.Add(1)
			go func(p int) {
				defer wg.Done()
				who := fmt.Sprintf("%s-p%02d", tag, p)
				for m := 0; m < perProspect; m++ {
					_, err := ingest.IngestMessage(ctx, authed(&v1.IngestMessageRequest{AccountLinkId: acc,
						PlatformMessageId: fmt.Sprintf("%s-m%02d", who, m), Direction: v1.Direction_DIRECTION_INBOUND,
						Participant: &v1.Participant{PlatformId: who}, Text: "hello " + who}))
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					want[who]++
					mu.Unlock()
				}
			}(p)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("ingest: %v", err)
		}
	}
	// waitModel polls the API until every thread shows exactly the acknowledged messages.
	waitModel := func(stage string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		var last string
		for time.Now().Before(deadline) {
			got, err := allThreads(ctx, threads)
			if err == nil {
				last = diffModel(got, want)
				if last == "" {
					return
				}
			} else {
				last = err.Error()
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: the read model never matched what was acknowledged: %s", stage, last)
	}

	send(4, 5, "a")
	waitModel("API and projector processes")

	// Stop the projector; the API still acknowledges (the log is Kafka); a restarted
	// projector applies exactly what it missed.
	stopProcess(t, p1, syscall.SIGTERM)
	send(3, 2, "b")
	p1 = startProcess(t, p1Dir, projectorArgs...)
	waitModel("projector restarted")

	// A second projector joins the group: the partitions are shared, the model stays exact.
	p2 := startProcess(t, t.TempDir(), projectorArgs...)
	send(12, 2, "c")
	waitModel("two projectors in one group")

	// One projector dies without warning: the other takes its partitions.
	stopProcess(t, p1, syscall.SIGKILL)
	send(6, 2, "d")
	waitModel("after a projector was killed")
	_ = p2
}

func stopProcess(t *testing.T, p *process, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("process did not stop")
	}
}

func allThreads(ctx context.Context, c switchboardv1connect.ThreadServiceClient) ([]*v1.Thread, error) {
	var out []*v1.Thread
	req := &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100}
	for {
		res, err := c.ListThreads(ctx, authed(req))
		if err != nil {
			return nil, err
		}
		out = append(out, res.Msg.Threads...)
		if res.Msg.NextPageToken == "" {
			return out, nil
		}
		req = &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100, PageToken: res.Msg.NextPageToken}
	}
}

// diffModel says how the threads differ from the acknowledged messages ("" when they match):
// one thread per prospect, message and unread counts exact.
func diffModel(got []*v1.Thread, want map[string]int) string {
	seen := map[string]bool{}
	for _, th := range got {
		who := th.Prospect.GetPlatformId()
		if seen[who] {
			return "two threads for " + who
		}
		seen[who] = true
		if int(th.MessageCount) != want[who] || int(th.UnreadCount) != want[who] {
			return fmt.Sprintf("%s: %d messages, %d unread, want %d", who, th.MessageCount, th.UnreadCount, want[who])
		}
	}
	if len(seen) != len(want) {
		return fmt.Sprintf("%d threads, want %d", len(seen), len(want))
	}
	return ""
}
