package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// TestCrashDuringWebhookDeliveryLosesNothing kills the server (SIGKILL) while it delivers
// webhooks; after a restart on the same data every event reaches the receiver (a repeat
// carries the same event id).
func TestCrashDuringWebhookDeliveryLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	var mu sync.Mutex
	got := map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			EventID string `json:"eventId"`
		}
		_ = json.Unmarshal(body, &ev)
		time.Sleep(10 * time.Millisecond) // deliveries take a while: the kill lands among them
		if ev.EventID == "" || r.Header.Get("Idempotency-Key") != ev.EventID {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[ev.EventID]++
		mu.Unlock()
	}))
	defer rcv.Close()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}

	dir := t.TempDir()
	p := startProcess(t, dir, "--webhooks-allow-private")
	base := "http://" + p.addr
	ctx := context.Background()
	hooks := switchboardv1connect.NewWebhookServiceClient(http.DefaultClient, base)
	if _, err := hooks.CreateSubscription(ctx, authed(&v1.CreateSubscriptionRequest{Url: rcv.URL,
		EventTypes: []string{"message.received.v1"}})); err != nil {
		t.Fatal(err)
	}
	accounts := switchboardv1connect.NewAccountServiceClient(http.DefaultClient, base)
	link, err := accounts.LinkAccount(ctx, authed(&v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API, PlatformId: "crash-hooks"}))
	if err != nil {
		t.Fatal(err)
	}
	ingest := switchboardv1connect.NewIngestServiceClient(http.DefaultClient, base)
	const n = 150
	for i := 0; i < n; i++ {
		if _, err := ingest.IngestMessage(ctx, authed(&v1.IngestMessageRequest{AccountLinkId: link.Msg.AccountLink.Id,
			PlatformMessageId: fmt.Sprintf("m%03d", i), Direction: v1.Direction_DIRECTION_INBOUND,
			Participant: &v1.Participant{PlatformId: fmt.Sprintf("p%d", i%7)}, Text: "hello"})); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for count() < 20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	before := count()
	if before >= n {
		t.Fatalf("every event was delivered before the kill (%d): the test proves nothing", before)
	}

	startProcess(t, dir, "--webhooks-allow-private")
	deadline = time.Now().Add(60 * time.Second)
	for count() < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c := count(); c != n {
		t.Fatalf("after the restart the receiver has %d of %d events (%d before the kill)", c, n, before)
	}
	t.Logf("%d events delivered before the kill, the rest after the restart", before)
}
