package main

import (
	"bytes"
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

// recordingBotAPI is a fake Telegram Bot API that records every sendMessage and answers it
// after a short delay, so that sends are in flight when the server is killed.
type recordingBotAPI struct {
	mu    sync.Mutex
	texts map[string]int // text → requests received
	next  int64
}

func (f *recordingBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ChatID string `json:"chat_id"`
		Text   string `json:"text"`
	}
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	f.texts[body.Text]++
	f.next++
	id := f.next
	f.mu.Unlock()
	time.Sleep(15 * time.Millisecond)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"chat":{"id":%s,"type":"private"},"date":%d,"text":%q}}`,
		id, body.ChatID, time.Now().Unix(), body.Text)
}

func (f *recordingBotAPI) received() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int(f.next)
}

// TestCrashNeverSendsTwice kills the server (SIGKILL) while 200 acknowledged replies are being
// sent to a fake Bot API that records every request. After a restart every acknowledged reply
// ends SENT or FAILED(unknown_outcome), and the fake never saw a reply twice.
func TestCrashNeverSendsTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	bot := &recordingBotAPI{texts: map[string]int{}}
	fake := httptest.NewServer(bot)
	defer fake.Close()
	dir := t.TempDir()
	p := startProcess(t, dir, "--platform-base-urls", "telegram="+fake.URL)
	base := "http://" + p.addr
	ctx := context.Background()
	link, err := switchboardv1connect.NewAccountServiceClient(http.DefaultClient, base).LinkAccount(ctx, authed(&v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_TELEGRAM, PlatformId: "7000000001", Username: "shop_bot",
		Credentials: map[string]string{"bot_token": "7000000001:AAE-crash-token", "webhook_secret": "crash-secret"}}))
	if err != nil {
		t.Fatal(err)
	}
	update := `{"update_id":1,"message":{"message_id":1,"from":{"id":408258968,"is_bot":false,"first_name":"Hirrolot"},` +
		`"chat":{"id":408258968,"first_name":"Hirrolot","type":"private"},"date":1764849600,"text":"hello"}}`
	req, _ := http.NewRequest(http.MethodPost, base+link.Msg.AccountLink.WebhookPath, bytes.NewReader([]byte(update)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "crash-secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("webhook: %v %v", err, res)
	}
	res.Body.Close()
	threads := switchboardv1connect.NewThreadServiceClient(http.DefaultClient, base)
	var threadID string
	for deadline := time.Now().Add(10 * time.Second); threadID == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		l, err := threads.ListThreads(ctx, authed(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL}))
		if err == nil && len(l.Msg.Threads) == 1 {
			threadID = l.Msg.Threads[0].Id
		}
	}
	if threadID == "" {
		t.Fatal("the webhook's thread never showed")
	}

	const replies, writers = 200, 8
	var mu sync.Mutex
	acked := map[string]string{} // msg id → text
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := switchboardv1connect.NewThreadServiceClient(&http.Client{Timeout: 5 * time.Second}, base)
			for i := w; i < replies; i += writers {
				text := fmt.Sprintf("reply %03d", i)
				r, err := c.SendMessage(ctx, authed(&v1.SendMessageRequest{ThreadId: threadID, Text: text, IdempotencyKey: text}))
				if err != nil {
					return // the server died under us: not acknowledged
				}
				mu.Lock()
				acked[r.Msg.Message.Id] = text
				mu.Unlock()
			}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); bot.received() < 40 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	wg.Wait()
	if len(acked) < 40 {
		t.Fatalf("only %d replies acknowledged before the kill", len(acked))
	}
	before := bot.received()

	p2 := startProcess(t, dir, "--platform-base-urls", "telegram="+fake.URL)
	threads = switchboardv1connect.NewThreadServiceClient(http.DefaultClient, "http://"+p2.addr)
	var final map[string]*v1.Message
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		final = map[string]*v1.Message{}
		q := &v1.ListMessagesRequest{ThreadId: threadID, PageSize: 100}
		for {
			r, err := threads.ListMessages(ctx, authed(q))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range r.Msg.Messages {
				final[m.Id] = m
			}
			if r.Msg.NextPageToken == "" {
				break
			}
			q = &v1.ListMessagesRequest{ThreadId: threadID, PageSize: 100, PageToken: r.Msg.NextPageToken}
		}
		done := true
		for id := range acked {
			if m := final[id]; m == nil || m.Status == "pending" {
				done = false
			}
		}
		if done {
			break
		}
	}
	sent, unknown := 0, 0
	for id, text := range acked {
		m := final[id]
		switch {
		case m == nil:
			t.Errorf("acknowledged reply %s (%q) is gone after the crash", id, text)
		case m.Status == "sent":
			sent++
		case m.Status == "failed" && m.FailureReason == "unknown_outcome":
			unknown++
		default:
			t.Errorf("acknowledged reply %s (%q) ended %s(%s), want sent or failed(unknown_outcome)", id, text, m.Status, m.FailureReason)
		}
	}
	bot.mu.Lock()
	for text, n := range bot.texts {
		if n > 1 {
			t.Errorf("the Bot API got %q %d times", text, n)
		}
	}
	bot.mu.Unlock()
	t.Logf("%d replies acknowledged, %d requests before SIGKILL; after restart %d sent, %d failed(unknown_outcome), %d requests in all",
		len(acked), before, sent, unknown, bot.received())
}
