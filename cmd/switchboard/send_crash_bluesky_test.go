package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky/blueskytest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// TestCrashMidSendBlueskyPollSettles kills the server (SIGKILL) while the fake PDS holds a
// sendMessage whose message is already in the convo (the platform has it; the sender never
// heard back). After a restart nothing is sent twice, and the poll of the convo's log, seeing
// our own message, settles that reply as SENT: no reply is left to a person when the platform
// shows what happened.
func TestCrashMidSendBlueskyPollSettles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	blue := blueskytest.New(t, polltest.FixtureDir(t, "bluesky"))
	inCall := make(chan string, 100)
	blue.BeforeAnswer(func(id string) {
		inCall <- id
		time.Sleep(300 * time.Millisecond) // the call is in flight for a while
	})
	dir := t.TempDir()
	args := []string{"--platform-base-urls", "bluesky=" + blue.URL, "--poll-interval", "200ms"}
	p := startProcess(t, dir, args...)
	base := "http://" + p.addr
	ctx := context.Background()
	if _, err := switchboardv1connect.NewAccountServiceClient(http.DefaultClient, base).LinkAccount(ctx, authed(&v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_BLUESKY, PlatformId: blueskytest.DID, Username: blueskytest.Identifier,
		Credentials: map[string]string{"identifier": blueskytest.Identifier, "app_password": blueskytest.AppPassword}})); err != nil {
		t.Fatal(err)
	}
	threads := switchboardv1connect.NewThreadServiceClient(http.DefaultClient, base)
	var threadID string
	for deadline := time.Now().Add(20 * time.Second); threadID == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		l, err := threads.ListThreads(ctx, authed(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL}))
		if err != nil {
			continue
		}
		for _, th := range l.Msg.Threads {
			if th.PlatformId == "3kt4jgm5nc32q" {
				threadID = th.Id
			}
		}
	}
	if threadID == "" {
		t.Fatal("the polled convo never showed")
	}

	const replies = 12
	acked := map[string]string{} // msg id → text
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := switchboardv1connect.NewThreadServiceClient(&http.Client{Timeout: 5 * time.Second}, base)
		for i := range replies {
			text := fmt.Sprintf("crash reply %02d", i)
			r, err := c.SendMessage(ctx, authed(&v1.SendMessageRequest{ThreadId: threadID, Text: text, IdempotencyKey: text}))
			if err != nil {
				return // the server died under us: not acknowledged
			}
			mu.Lock()
			acked[r.Msg.Message.Id] = text
			mu.Unlock()
		}
	}()
	// Kill while the third reply is in the PDS's hands.
	var midCall string
	for n := 0; n < 3; n++ {
		select {
		case midCall = <-inCall:
		case <-time.After(30 * time.Second):
			t.Fatal("the sender never called the PDS")
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	wg.Wait()
	blue.BeforeAnswer(nil)

	p2 := startProcess(t, dir, args...)
	threads = switchboardv1connect.NewThreadServiceClient(http.DefaultClient, "http://"+p2.addr)
	var final map[string]*v1.Message
	settled := func() bool {
		final = map[string]*v1.Message{}
		r, err := threads.ListMessages(ctx, authed(&v1.ListMessagesRequest{ThreadId: threadID, PageSize: 100}))
		if err != nil {
			return false
		}
		for _, m := range r.Msg.Messages {
			final[m.Id] = m
		}
		for id := range acked {
			if m := final[id]; m == nil || m.Status != "sent" {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(60 * time.Second); !settled() && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
	}
	received := map[string]int{}
	for _, s := range blue.Sends() {
		var body struct {
			Message struct{ Text string } `json:"message"`
		}
		_ = json.Unmarshal(s.Body, &body)
		received[body.Message.Text]++
	}
	for text, n := range received {
		if n > 1 {
			t.Errorf("the PDS got %q %d times", text, n)
		}
	}
	for id, text := range acked {
		m := final[id]
		switch {
		case m == nil:
			t.Errorf("acknowledged reply %s (%q) is gone after the crash", id, text)
		case m.Status != "sent":
			t.Errorf("acknowledged reply %s (%q) ended %s(%s), want sent (the PDS has it %d times)", id, text, m.Status, m.FailureReason, received[text])
		case m.PlatformId == "":
			t.Errorf("reply %s sent without its platform id", id)
		}
	}
	ours := 0
	for _, m := range final {
		if m.Direction == v1.Direction_DIRECTION_OUTBOUND && m.PlatformId == midCall {
			ours++
		}
	}
	if ours != 1 {
		t.Errorf("the reply killed mid-call (%s) shows %d times in the thread, want once", midCall, ours)
	}
	t.Logf("%d replies acknowledged; the PDS got %d sends; killed during %s", len(acked), len(received), midCall)
}
