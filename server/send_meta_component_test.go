package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

const (
	metaPage      = "105000000000001"
	metaPSID      = "6300000000000001"
	metaAppSecret = "meta-App_Secret-for-send-tests"
	metaToken     = "EAAGpage-Token-for-send-tests"
)

// metaWebhookBody is a Messenger webhook body (object "page") holding one messaging element.
func metaWebhookBody(item string) []byte {
	return []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[%s]}]}`, metaPage, time.Now().UnixMilli(), item))
}

// metaPost posts a signed webhook body and returns the status.
func metaPost(t *testing.T, s *server.Server, path string, body []byte) int {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(metaAppSecret))
	mac.Write(body)
	return tgxPost(t, s.Addr, path, body, http.Header{"Content-Type": {"application/json"},
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}})
}

// metaEcho is the message_echoes element of a message the Page sent (the shape of the shared
// echo_text sample, with our ids).
func metaEcho(mid, metadata, text string) string {
	return fmt.Sprintf(`{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"message":{"is_echo":true,"app_id":1517776481860111,`+
		`"metadata":%q,"mid":%q,"text":%q}}`, metaPage, metaPSID, time.Now().UnixMilli(), metadata, mid, text)
}

// TestMessengerReply: a Page answers through the Send API; the echo of the reply, whether it
// arrives after message.sent or before the Send API answered, shows the reply once.
func TestMessengerReply(t *testing.T) {
	t.Parallel()
	var (
		s         *server.Server
		linkPath  atomic.Value
		echoFirst atomic.Bool
	)
	graph := newFakePlatform(t, nil)
	graph.setAnswer(func(n int, r fakeRequest) (int, http.Header, string) {
		if r.Method != http.MethodPost {
			return 404, nil, `{"error":{"message":"no profile here","type":"GraphMethodException","code":100}}` // profile fetches
		}
		var body struct {
			Message struct {
				Text     string `json:"text"`
				Metadata string `json:"metadata"`
			} `json:"message"`
		}
		_ = json.Unmarshal(r.Body, &body)
		mid := fmt.Sprintf("m_send_%d", n)
		if echoFirst.Load() {
			// Meta's echo overtakes the Send API's answer: it is durable before the answer.
			if code := metaPost(t, s, linkPath.Load().(string), metaWebhookBody(metaEcho(mid, body.Message.Metadata, body.Message.Text))); code != 200 {
				t.Errorf("echo webhook: %d", code)
			}
		}
		return 200, nil, fmt.Sprintf(`{"recipient_id":%q,"message_id":%q}`, metaPSID, mid)
	})
	logs := &syncBuffer{}
	s = startSender(t, senderRoles, platforms.BaseURLs{"messenger": graph.URL}, logs)
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_MESSENGER, PlatformId: metaPage, Username: "acme",
		Credentials: map[string]string{"app_secret": metaAppSecret, "verify_token": "vt", "access_token": metaToken}}).AccountLink
	linkPath.Store(link.WebhookPath)
	if c := link.Capabilities; c == nil || c.Window != "meta_24h" || c.TextLimit != 2000 || c.ReplyTo {
		t.Fatalf("messenger capabilities: %+v", c)
	}
	inbound := fmt.Sprintf(`{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"m_in_1","text":"hello, world!"}}`,
		metaPSID, metaPage, time.Now().Add(-time.Hour).UnixMilli())
	if code := metaPost(t, s, link.WebhookPath, metaWebhookBody(inbound)); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	thread := tgxThreads(t, s, a, link.Id, 1)[metaPSID]

	// After message.sent: the echo adds nothing.
	r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "hello, world!", "m-1"))
	sent := waitStatus(t, a, thread.Id, r.Message.Id, "sent")
	reqs := graph.sends()
	if len(reqs) != 1 {
		t.Fatalf("the Send API got %d requests, want 1", len(reqs))
	}
	var body map[string]any
	_ = json.Unmarshal(reqs[0].Body, &body)
	want := fmt.Sprintf(`map[message:map[metadata:%s text:hello, world!] messaging_type:RESPONSE recipient:map[id:%s]]`, r.Message.Id, metaPSID)
	if reqs[0].Path != "/v25.0/"+metaPage+"/messages" || reqs[0].Header.Get("Authorization") != "Bearer "+metaToken ||
		fmt.Sprint(body) != want || strings.Contains(reqs[0].Path, metaToken) {
		t.Fatalf("request %s %v %s\nwant body %s", reqs[0].Path, reqs[0].Header, reqs[0].Body, want)
	}
	head := tgxHead(t, s)
	if code := metaPost(t, s, link.WebhookPath, metaWebhookBody(metaEcho(sent.PlatformId, r.Message.Id, "hello, world!"))); code != 200 {
		t.Fatalf("echo: %d", code)
	}
	// Without metadata too (an echo matched by its mid alone).
	if code := metaPost(t, s, link.WebhookPath, metaWebhookBody(metaEcho(sent.PlatformId, "", "hello, world!"))); code != 200 {
		t.Fatalf("echo: %d", code)
	}
	if after := tgxHead(t, s); after != head {
		t.Fatalf("the echo of our reply appended events: %s → %s", head, after)
	}

	// The echo arrives before the Send API answers: still one message, sent once.
	echoFirst.Store(true)
	r2 := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "second", "m-2"))
	sent2 := waitStatus(t, a, thread.Id, r2.Message.Id, "sent")
	if !strings.HasPrefix(sent2.PlatformId, "m_send_") || sent2.PlatformId == sent.PlatformId {
		t.Fatalf("reply after an early echo: %+v", sent2)
	}
	msgs := a.messages(thread.Id, 100)
	if len(msgs) != 3 {
		t.Fatalf("thread shows %d messages, want the inbound one and our two replies: %v", len(msgs), msgs)
	}
	n := 0
	for _, e := range a.events() {
		if e.Type == "message.sent.v1" && strings.Contains(fmt.Sprint(e.Data), r2.Message.Id) {
			n++
			if e.Origin != "webhook" {
				t.Errorf("the early echo did not record the send: message.sent from %s", e.Origin)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d message.sent events for the early-echoed reply, want 1", n)
	}
	// A message the Page wrote in Meta's own inbox (not ours) is a message of the thread.
	if code := metaPost(t, s, link.WebhookPath, metaWebhookBody(metaEcho("m_from_inbox", "", "typed in the Page inbox"))); code != 200 {
		t.Fatal(code)
	}
	waitFor(t, "the Page's own message", func() bool { return len(a.messages(thread.Id, 100)) == 4 })

	t.Run("delivery and read receipts", func(t *testing.T) {
		// Messenger's delivery (mids) moves the second reply to delivered; the read watermark
		// (every message sent before it) moves both to read; a repeat adds nothing.
		delivery := fmt.Sprintf(`{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"delivery":{"mids":[%q],"watermark":%d}}`,
			metaPSID, metaPage, time.Now().UnixMilli(), sent2.PlatformId, time.Now().UnixMilli())
		if code := metaPost(t, s, link.WebhookPath, metaWebhookBody(delivery)); code != 200 {
			t.Fatal(code)
		}
		waitStatus(t, a, thread.Id, r2.Message.Id, "delivered")
		if m := waitStatus(t, a, thread.Id, r.Message.Id, "sent"); m == nil {
			t.Fatal("the first reply moved on a receipt naming the second")
		}
		wm := time.Now().Add(time.Minute).UnixMilli()
		read := fmt.Sprintf(`{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"read":{"watermark":%d}}`, metaPSID, metaPage, wm, wm)
		if code := metaPost(t, s, link.WebhookPath, metaWebhookBody(read)); code != 200 {
			t.Fatal(code)
		}
		waitStatus(t, a, thread.Id, r.Message.Id, "read")
		waitStatus(t, a, thread.Id, r2.Message.Id, "read")
		head := tgxHead(t, s)
		if code := metaPost(t, s, link.WebhookPath, metaWebhookBody(read)); code != 200 {
			t.Fatal(code)
		}
		if after := tgxHead(t, s); after != head {
			t.Fatalf("a repeated read receipt appended events: %s → %s", head, after)
		}
	})

	t.Run("the 24 h window", func(t *testing.T) {
		old := fmt.Sprintf(`{"sender":{"id":"6300000000000002"},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"m_in_old","text":"anyone?"}}`,
			metaPage, time.Now().Add(-30*time.Hour).UnixMilli())
		if code := metaPost(t, s, link.WebhookPath, metaWebhookBody(old)); code != 200 {
			t.Fatal(code)
		}
		stale := tgxThreads(t, s, a, link.Id, 2)["6300000000000002"]
		head := tgxHead(t, s)
		err := a.try("/switchboard.v1.ThreadService/SendMessage", sendReq(stale.Id, "sorry for the wait", ""), &v1.SendMessageResponse{})
		wantCode(t, "outside the window", err, connect.CodeFailedPrecondition)
		if !strings.Contains(messageOf(err), "meta_24h_window") {
			t.Fatalf("message %q does not name the rule", messageOf(err))
		}
		if after := tgxHead(t, s); after != head {
			t.Fatalf("a refused reply appended events: %s → %s", head, after)
		}
		// With HUMAN_AGENT enabled on the link, up to 7 days, tagged.
		call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
			Platform: v1.Platform_PLATFORM_MESSENGER, PlatformId: metaPage, Username: "acme",
			Credentials: map[string]string{"app_secret": metaAppSecret, "verify_token": "vt", "access_token": metaToken, "human_agent": "true"}})
		echoFirst.Store(false)
		r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(stale.Id, "sorry for the wait", ""))
		waitStatus(t, a, stale.Id, r.Message.Id, "sent")
		reqs := graph.sends()
		last := reqs[len(reqs)-1].Body
		if !strings.Contains(string(last), `"messaging_type":"MESSAGE_TAG"`) || !strings.Contains(string(last), `"tag":"HUMAN_AGENT"`) {
			t.Fatalf("human agent reply: %s", last)
		}
	})
	if strings.Contains(logs.String(), metaToken) || strings.Contains(logs.String(), metaAppSecret) {
		t.Error("the log holds a secret")
	}
}
