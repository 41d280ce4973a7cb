package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/sender"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// fakeRequest is one request a fake platform received.
type fakeRequest struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// fakePlatform records every request and answers through answer (the platform's real shapes).
type fakePlatform struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []fakeRequest
	answer func(n int, r fakeRequest) (status int, header http.Header, body string)
}

func newFakePlatform(t *testing.T, answer func(n int, r fakeRequest) (int, http.Header, string)) *fakePlatform {
	f := &fakePlatform{answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		req := fakeRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: b}
		f.reqs = append(f.reqs, req)
		n := len(f.reqs)
		answer := f.answer
		f.mu.Unlock()
		status, h, body := answer(n, req)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakePlatform) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

// sends are the POST requests: what a sender sent (profile fetches and polls are GETs).
func (f *fakePlatform) sends() []fakeRequest {
	var out []fakeRequest
	for _, r := range f.requests() {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakePlatform) setAnswer(a func(n int, r fakeRequest) (int, http.Header, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

// syncBuffer is a log sink the test can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSender runs a real server with the sender role, platforms at the fakes, and its log
// (every level) in logs.
func startSender(t *testing.T, roles []string, baseURLs platforms.BaseURLs, logs *syncBuffer, engines ...func(*server.Config)) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := server.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", BootstrapKey: adminKey, ShutdownTimeout: 5 * time.Second,
		Roles: roles, PlatformBaseURLs: baseURLs,
		Send: sender.Options{Deadline: 20 * time.Second, AttemptTimeout: time.Second, InitialInterval: 50 * time.Millisecond,
			MaxInterval: 500 * time.Millisecond}}
	for _, e := range engines {
		e(&cfg)
	}
	s, err := server.Start(ctx, cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { stopServer(t, s) })
	return s
}

var senderRoles = []string{"api", "ingest", "projector", "sender"}

const tgToken = "7000000001:AAE-send-test-Token_xyz"

// telegramOK answers sendMessage as the Bot API does: {"ok":true,"result":<Message>}.
func telegramOK(n int, r fakeRequest) (int, http.Header, string) {
	var body struct {
		ChatID string `json:"chat_id"`
		Text   string `json:"text"`
	}
	_ = json.Unmarshal(r.Body, &body)
	return 200, nil, fmt.Sprintf(`{"ok":true,"result":{"message_id":%d,"from":{"id":7000000001,"is_bot":true,"first_name":"Shop","username":"shop_bot"},`+
		`"chat":{"id":%s,"first_name":"Hirrolot","username":"hirrolot","type":"private"},"date":1764849600,"text":%q}}`, 1000+n, body.ChatID, body.Text)
}

func sendReq(thread, text, key string) *v1.SendMessageRequest {
	return &v1.SendMessageRequest{ThreadId: thread, Text: text, IdempotencyKey: key}
}

// waitStatus waits until the thread shows message id with status, and returns it.
func waitStatus(t *testing.T, a api, thread, id, status string) *v1.Message {
	t.Helper()
	var got *v1.Message
	waitFor(t, "message "+id+" "+status, func() bool {
		for _, m := range a.messages(thread, 100) {
			if m.Id == id {
				got = m
				return m.Status == status
			}
		}
		return false
	})
	return got
}

func eventTypes(a api) map[string]int {
	n := map[string]int{}
	for _, e := range a.events() {
		n[e.Type]++
	}
	return n
}

// TestTelegramReply: a Telegram bot receives a message by webhook and answers it with
// SendMessage: the fake Bot API sees exactly one correctly shaped, correctly authenticated
// request per reply, ListMessages shows it SENT with Telegram's id, and faults end where they
// must (retried after the wait, FAILED with the reason, the link marked).
func TestTelegramReply(t *testing.T) {
	t.Parallel()
	t.Run("embedded", func(t *testing.T) { t.Parallel(); telegramReply(t) })
	t.Run("kafka+postgres", func(t *testing.T) {
		t.Parallel()
		telegramReply(t, func(c *server.Config) {
			c.PostgresURL = testenv.PostgresSchema(t)
			_, brokers := testenv.Kafka(t)
			c.Kafka = scaleKafka(brokers)
		})
	})
}

func telegramReply(t *testing.T, engines ...func(*server.Config)) {
	tg := newFakePlatform(t, telegramOK)
	logs := &syncBuffer{}
	s := startSender(t, senderRoles, platforms.BaseURLs{"telegram": tg.URL}, logs, engines...)
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_TELEGRAM, PlatformId: tgxBotID, Username: "shop_bot",
		Credentials: map[string]string{"bot_token": tgToken, "webhook_secret": tgxWebhookSecret}}).AccountLink
	if c := link.Capabilities; c == nil || !c.Send || c.TextLimit != 4096 || !c.ReplyTo || c.Window != "none" {
		t.Fatalf("telegram capabilities: %+v", c)
	}
	h := http.Header{"Content-Type": {"application/json"}, "X-Telegram-Bot-Api-Secret-Token": {tgxWebhookSecret}}
	if code := tgxPost(t, s.Addr, link.WebhookPath, tgxFixture(t, "telegram/teloxide/update_private_chat_text_message.json"), h); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	thread := tgxThreads(t, s, a, link.Id, 1)["408258968"]
	inbound := a.messages(thread.Id, 10)[0]

	// 20 concurrent SendMessage with one key: one message, one event, one platform request.
	var wg sync.WaitGroup
	msgIDs := make([]string, 20)
	for i := range msgIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{
				ThreadId: thread.Id, Text: "4 it is!", ReplyToMessageId: inbound.Id, IdempotencyKey: "reply-1"})
			if r.Message.Status != "pending" && r.Message.Status != "sent" || r.Position == "" {
				t.Errorf("SendMessage answered %+v", r)
			}
			msgIDs[i] = r.Message.Id
		}()
	}
	wg.Wait()
	for _, id := range msgIDs {
		if id != msgIDs[0] || !strings.HasPrefix(id, "msg_") {
			t.Fatalf("one key answered messages %v", msgIDs)
		}
	}
	sent := waitStatus(t, a, thread.Id, msgIDs[0], "sent")
	if !strings.HasPrefix(sent.PlatformId, "408258968:") || sent.Direction != v1.Direction_DIRECTION_OUTBOUND || sent.ReplyToMessageId != inbound.Id {
		t.Fatalf("sent message: %+v", sent)
	}
	reqs := tg.requests()
	if len(reqs) != 1 {
		t.Fatalf("the Bot API got %d requests, want 1", len(reqs))
	}
	var body struct {
		ChatID          string `json:"chat_id"`
		Text            string `json:"text"`
		ReplyParameters struct {
			MessageID int64 `json:"message_id"`
		} `json:"reply_parameters"`
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if reqs[0].Method != http.MethodPost || reqs[0].Path != "/bot"+tgToken+"/sendMessage" || body.ChatID != "408258968" ||
		body.Text != "4 it is!" || body.ReplyParameters.MessageID != 154 {
		t.Fatalf("request %s %s %s", reqs[0].Method, reqs[0].Path, reqs[0].Body)
	}
	if n := eventTypes(a); n["message.send_requested.v1"] != 1 || n["message.send_attempted.v1"] != 1 || n["message.sent.v1"] != 1 {
		t.Fatalf("events %v, want one request, one attempt, one sent", n)
	}
	// Our reply is the last message: the thread waits for the prospect's answer.
	if th := a.thread(thread.Id); th.LastMessageDirection != v1.Direction_DIRECTION_OUTBOUND || th.Request {
		t.Fatalf("thread after the reply: %+v", th)
	}
	if got := ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_NO_REPLY})); len(got) != 1 || got[0] != thread.Id {
		t.Fatalf("NO_REPLY view: %v", got)
	}

	send := func(text string) string {
		return call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, text, "")).Message.Id
	}
	t.Run("429 waits retry_after, then sends", func(t *testing.T) {
		from := len(tg.requests())
		tg.setAnswer(func(n int, r fakeRequest) (int, http.Header, string) {
			if n == from+1 {
				return 429, nil, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`
			}
			return telegramOK(n, r)
		})
		id := send("after the flood")
		waitStatus(t, a, thread.Id, id, "sent")
		reqs := tg.requests()[from:]
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want the refused one and the retry", len(reqs))
		}
	})
	t.Run("500 then success", func(t *testing.T) {
		from := len(tg.requests())
		tg.setAnswer(func(n int, r fakeRequest) (int, http.Header, string) {
			if n == from+1 {
				return 502, nil, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`
			}
			return telegramOK(n, r)
		})
		id := send("through a hiccup")
		waitStatus(t, a, thread.Id, id, "sent")
		if n := len(tg.requests()) - from; n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
	})
	t.Run("a timeout is retried", func(t *testing.T) {
		from := len(tg.requests())
		tg.setAnswer(func(n int, r fakeRequest) (int, http.Header, string) {
			if n == from+1 {
				time.Sleep(1500 * time.Millisecond) // beyond the attempt timeout (1s here)
			}
			return telegramOK(n, r)
		})
		id := send("slowly")
		waitStatus(t, a, thread.Id, id, "sent")
		if n := len(tg.requests()) - from; n != 2 {
			t.Fatalf("%d requests, want the timed-out one and its retry", n)
		}
	})
	t.Run("blocked fails at once; RetrySend sends the same message", func(t *testing.T) {
		from := len(tg.requests())
		tg.setAnswer(func(n int, r fakeRequest) (int, http.Header, string) {
			return 403, nil, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`
		})
		id := send("are you there?")
		failed := waitStatus(t, a, thread.Id, id, "failed")
		if failed.FailureReason != "blocked" || len(tg.requests())-from != 1 {
			t.Fatalf("failed %+v after %d requests", failed, len(tg.requests())-from)
		}
		tg.setAnswer(telegramOK)
		for range 2 { // idempotent: the same key answers the same and adds nothing
			r := call[v1.RetrySendResponse](a, "/switchboard.v1.ThreadService/RetrySend", &v1.RetrySendRequest{MessageId: id, IdempotencyKey: "retry-" + id})
			if r.Message.Id != id {
				t.Fatalf("retry answered %+v", r.Message)
			}
		}
		waitStatus(t, a, thread.Id, id, "sent")
		if n := len(tg.requests()) - from; n != 2 {
			t.Fatalf("%d requests, want the refused one and one retry", n)
		}
		err := a.try("/switchboard.v1.ThreadService/RetrySend", &v1.RetrySendRequest{MessageId: id}, &v1.RetrySendResponse{})
		wantCode(t, "retry of a sent message", err, connect.CodeFailedPrecondition)
	})
	t.Run("text too long names the field and the limit", func(t *testing.T) {
		err := a.try("/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, strings.Repeat("a", 4097), ""), &v1.SendMessageResponse{})
		wantCode(t, "4097 characters", err, connect.CodeInvalidArgument)
		if !strings.Contains(messageOf(err), "text") || !strings.Contains(messageOf(err), "4096") {
			t.Fatalf("message %q", messageOf(err))
		}
		err = a.try("/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{ThreadId: thread.Id,
			Attachments: []*v1.Attachment{{Type: "video", Url: "https://cdn.example/v.mp4"}}}, &v1.SendMessageResponse{})
		wantCode(t, "a video on telegram", err, connect.CodeInvalidArgument)
	})
	t.Run("another team's key gets NotFound", func(t *testing.T) {
		other := call[v1.CreateTeamResponse](a, "/switchboard.v1.TeamService/CreateTeam", &v1.CreateTeamRequest{Name: "other"}).OwnerKey
		b := a.as(other)
		wantCode(t, "SendMessage", b.try("/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "hi", ""), &v1.SendMessageResponse{}), connect.CodeNotFound)
		wantCode(t, "RetrySend", b.try("/switchboard.v1.ThreadService/RetrySend", &v1.RetrySendRequest{MessageId: msgIDs[0]}, &v1.RetrySendResponse{}), connect.CodeNotFound)
		wantCode(t, "CancelSend", b.try("/switchboard.v1.ThreadService/CancelSend", &v1.CancelSendRequest{MessageId: msgIDs[0]}, &v1.CancelSendResponse{}), connect.CodeNotFound)
	})
	t.Run("a revoked token fails the reply and marks the link", func(t *testing.T) {
		tg.setAnswer(func(int, fakeRequest) (int, http.Header, string) {
			return 401, nil, `{"ok":false,"error_code":401,"description":"Unauthorized"}`
		})
		id := send("still here")
		if f := waitStatus(t, a, thread.Id, id, "failed"); f.FailureReason != "auth" {
			t.Fatalf("failed %+v", f)
		}
		waitFor(t, "the link marked unhealthy", func() bool {
			for _, l := range call[v1.ListAccountLinksResponse](a, "/switchboard.v1.AccountService/ListAccountLinks", &v1.ListAccountLinksRequest{}).AccountLinks {
				if l.Id == link.Id {
					return !l.Active && l.HealthReason != ""
				}
			}
			return false
		})
		err := a.try("/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "hi", ""), &v1.SendMessageResponse{})
		wantCode(t, "SendMessage on an unhealthy link", err, connect.CodeFailedPrecondition)
	})
	// No secret anywhere: not in the events, the log lines or the metrics.
	all, _ := json.Marshal(a.events())
	res, err := http.Get("http://" + s.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(metrics, []byte(`switchboard_sends_total{outcome="blocked",platform="telegram"} 1`)) {
		t.Errorf("metrics do not count the blocked reply")
	}
	all = append(all, metrics...)
	for _, secret := range []string{tgToken, strings.Split(tgToken, ":")[1], tgxWebhookSecret} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("the event log or the metrics hold a secret")
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a secret")
		}
	}
}
