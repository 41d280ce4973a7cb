package server_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky/blueskytest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit/reddittest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// pollingSender: polls every 100 ms, and an attempt may wait for the poll of its own message
// (the echo-first tests hold the platform's answer until then).
func pollingSender(c *server.Config) {
	c.PollInterval = 100 * time.Millisecond
	c.Send.AttemptTimeout = 15 * time.Second
}

// sendFault is one fault class: arm makes the fake refuse the next request(s); the reply then
// ends in status (with reason) after requests platform sends.
type sendFault struct {
	name     string
	arm      func()
	status   string
	reason   string
	requests int
}

// runSendFaults sends one reply per fault and checks where it ends and how many times the
// platform was asked.
func runSendFaults(t *testing.T, a api, thread string, sends func() int, faults []sendFault) {
	t.Helper()
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			from := sends()
			f.arm()
			id := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage",
				sendReq(thread, fmt.Sprintf("fault %d: %s", i, f.name), "")).Message.Id
			m := waitStatus(t, a, thread, id, f.status)
			if m.FailureReason != f.reason {
				t.Fatalf("%s: failure reason %q, want %q", f.name, m.FailureReason, f.reason)
			}
			if n := sends() - from; n != f.requests {
				t.Fatalf("%s: the platform got %d requests, want %d", f.name, n, f.requests)
			}
		})
	}
}

// noSecrets checks the event log, the metrics and the server's log for the secrets.
func noSecrets(t *testing.T, s *server.Server, a api, logs *syncBuffer, secrets ...string) {
	t.Helper()
	all, _ := json.Marshal(a.events())
	res, err := http.Get("http://" + s.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	_, _ = metrics.ReadFrom(res.Body)
	res.Body.Close()
	all = append(all, metrics.Bytes()...)
	for _, secret := range secrets {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("the event log or the metrics hold a secret")
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a secret")
		}
	}
}

// sentEvents counts the message.sent events of a message, and says whether one came from
// the platform (an echo or a poll) rather than the sender.
func sentEvents(a api, id string) (n int, fromPlatform bool) {
	for _, e := range a.events() {
		if e.Type == "message.sent.v1" && strings.Contains(fmt.Sprint(e.Data), id) {
			n++
			fromPlatform = fromPlatform || e.Origin == "webhook" || e.Origin == "poll"
		}
	}
	return n, fromPlatform
}

// receivedWith counts the message.received events of a platform message id.
func receivedWith(a api, platformID string) int {
	n := 0
	for _, e := range a.events() {
		if e.Type == "message.received.v1" && strings.Contains(fmt.Sprint(e.Data), platformID) {
			n++
		}
	}
	return n
}

func linkHealthy(a api, linkID string) bool {
	for _, l := range call[v1.ListAccountLinksResponse](a, "/switchboard.v1.AccountService/ListAccountLinks", &v1.ListAccountLinksRequest{}).AccountLinks {
		if l.Id == linkID {
			return l.Active
		}
	}
	return false
}

func apiOf(t *testing.T, s *server.Server) api { return api{t, newConnectClient(s.Addr), adminKey} }

const (
	xUser  = "1111111111111111111"
	xOther = "2222222222222222222"
	xConv  = xUser + "-" + xOther
	xToken = "x-User_Bearer-token-for-send-tests"
)

// xSentWebhook is an X Activity API dm.sent delivery (the shape of the shared xaa_dm.sent
// sample) of a message our account sent in the conversation with xOther.
func xSentWebhook(id, text string) []byte {
	return []byte(fmt.Sprintf(`{"data":{"event_uuid":"-%s","filter":{"user_id":%q},"event_type":"dm.sent","tag":"dm-outbound",`+
		`"payload":{"direct_message_events":[{"type":"message_create","id":%q,"created_timestamp":"%d","message_create":`+
		`{"target":{"recipient_id":%q},"sender_id":%q,"message_data":{"text":%q,"entities":{"hashtags":[],"symbols":[],`+
		`"user_mentions":[],"urls":[]}}}}],"users":{}}}}`, id, xUser, id, time.Now().UnixMilli(), xOther, xUser, text))
}

// TestXReply: an X account answers a DM; X's dm.sent webhook of the reply, after the send or
// before X answered it, shows the reply once; an image is uploaded first; faults end where
// they must.
func TestXReply(t *testing.T) {
	t.Parallel()
	var (
		s         *server.Server
		linkPath  atomic.Value
		echoFirst atomic.Bool
	)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	sign := func(body []byte) http.Header {
		m := hmac.New(sha256.New, []byte(tgxConsumerSecret))
		m.Write(body)
		return http.Header{"Content-Type": {"application/json"}, "x-twitter-webhooks-signature": {"sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))}}
	}
	xOK := func(n int, r fakeRequest) (int, http.Header, string) {
		switch {
		case r.Method == http.MethodGet && r.Path == "/img.png":
			return 200, nil, string(png)
		case r.Method == http.MethodPost && r.Path == "/2/media/upload":
			return 200, nil, `{"data":{"id":"1880028106020515840","media_key":"3_1880028106020515840","expires_after_secs":86400}}`
		case r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/2/dm_conversations/"):
			id := fmt.Sprintf("20807659015285%05d", n)
			if echoFirst.Load() {
				var body struct{ Text string }
				_ = json.Unmarshal(r.Body, &body)
				// X's webhook overtakes the API's answer: it is durable before the answer.
				b := xSentWebhook(id, body.Text)
				if code := tgxPost(t, s.Addr, linkPath.Load().(string), b, sign(b)); code != 200 {
					t.Errorf("echo webhook: %d", code)
				}
			}
			return 201, nil, fmt.Sprintf(`{"data":{"dm_conversation_id":%q,"dm_event_id":%q}}`, xConv, id)
		}
		return 404, nil, `{"title":"Not Found Error","detail":"no such resource","type":"https://api.twitter.com/2/problems/resource-not-found"}`
	}
	xAPI := newFakePlatform(t, xOK)
	dms := func() []fakeRequest {
		var out []fakeRequest
		for _, r := range xAPI.sends() {
			if strings.HasPrefix(r.Path, "/2/dm_conversations/") {
				out = append(out, r)
			}
		}
		return out
	}
	logs := &syncBuffer{}
	s = startSender(t, senderRoles, platforms.BaseURLs{"x": xAPI.URL}, logs)
	a := apiOf(t, s)
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_X, PlatformId: xUser, Username: "ExampleUser",
		Credentials: map[string]string{"consumer_secret": tgxConsumerSecret, "bearer_token": xToken}}).AccountLink
	linkPath.Store(link.WebhookPath)
	if c := link.Capabilities; c == nil || !c.Send || c.TextLimit != 10000 || c.ReplyTo || fmt.Sprint(c.Attachments) != "[image]" {
		t.Fatalf("x capabilities: %+v", c)
	}
	in := tgxFixture(t, "x/xaa_dm.received.json")
	if code := tgxPost(t, s.Addr, link.WebhookPath, in, sign(in)); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	thread := tgxThreads(t, s, a, link.Id, 1)[xConv]

	r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "hello back!", "x-1"))
	sent := waitStatus(t, a, thread.Id, r.Message.Id, "sent")
	reqs := dms()
	if len(reqs) != 1 || !strings.HasPrefix(sent.PlatformId, "20807659015285") {
		t.Fatalf("X got %d DM requests; sent %+v", len(reqs), sent)
	}
	if reqs[0].Path != "/2/dm_conversations/"+xConv+"/messages" || reqs[0].Header.Get("Authorization") != "Bearer "+xToken ||
		string(reqs[0].Body) != `{"text":"hello back!"}` {
		t.Fatalf("request %s %v %s", reqs[0].Path, reqs[0].Header, reqs[0].Body)
	}
	// X's dm.sent webhook of the reply adds nothing.
	head := tgxHead(t, s)
	echo := xSentWebhook(sent.PlatformId, "hello back!")
	if code := tgxPost(t, s.Addr, link.WebhookPath, echo, sign(echo)); code != 200 {
		t.Fatalf("echo: %d", code)
	}
	if after := tgxHead(t, s); after != head {
		t.Fatalf("the echo of our reply appended events: %s → %s", head, after)
	}

	t.Run("the echo arrives before X answers", func(t *testing.T) {
		echoFirst.Store(true)
		defer echoFirst.Store(false)
		r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "second", "x-2"))
		waitStatus(t, a, thread.Id, r.Message.Id, "sent")
		if msgs := a.messages(thread.Id, 100); len(msgs) != 3 {
			t.Fatalf("thread shows %d messages, want the inbound one and our two replies", len(msgs))
		}
		if n, echoed := sentEvents(a, r.Message.Id); n != 1 || !echoed {
			t.Fatalf("%d message.sent events (from the echo: %v), want 1 from the echo", n, echoed)
		}
	})
	t.Run("an image is uploaded, then attached by its media id", func(t *testing.T) {
		from := len(xAPI.sends())
		r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{ThreadId: thread.Id,
			Text: "the receipt", Attachments: []*v1.Attachment{{Type: "image", Url: xAPI.URL + "/img.png"}}})
		waitStatus(t, a, thread.Id, r.Message.Id, "sent")
		posts := xAPI.sends()[from:]
		if len(posts) != 2 || posts[0].Path != "/2/media/upload" || posts[1].Header.Get("Authorization") != "Bearer "+xToken {
			t.Fatalf("%d requests: %v", len(posts), posts)
		}
		var up struct{ Media, MediaCategory, MediaType string }
		if err := json.Unmarshal(posts[0].Body, &struct {
			Media         *string `json:"media"`
			MediaCategory *string `json:"media_category"`
			MediaType     *string `json:"media_type"`
		}{&up.Media, &up.MediaCategory, &up.MediaType}); err != nil {
			t.Fatal(err)
		}
		if b, _ := base64.StdEncoding.DecodeString(up.Media); !bytes.Equal(b, png) || up.MediaCategory != "dm_image" || up.MediaType != "image/png" {
			t.Fatalf("upload %s %s (%d bytes)", up.MediaCategory, up.MediaType, len(b))
		}
		if want := `{"attachments":[{"media_id":"1880028106020515840"}],"text":"the receipt"}`; string(posts[1].Body) != want {
			t.Fatalf("DM body %s, want %s", posts[1].Body, want)
		}
		err := a.try("/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{ThreadId: thread.Id,
			Attachments: []*v1.Attachment{{Type: "file", Url: xAPI.URL + "/a.pdf"}}}, &v1.SendMessageResponse{})
		if codeOf(err).String() != "invalid_argument" || !strings.Contains(messageOf(err), "x") || !strings.Contains(messageOf(err), `"file"`) {
			t.Fatalf("a file on X: %v", err)
		}
	})
	refuseNext := func(status int, h http.Header, body string) func() {
		return func() {
			from := len(xAPI.requests())
			xAPI.setAnswer(func(n int, r fakeRequest) (int, http.Header, string) {
				if n == from+1 {
					return status, h, body
				}
				return xOK(n, r)
			})
		}
	}
	runSendFaults(t, a, thread.Id, func() int { return len(dms()) }, []sendFault{
		{"429 waits Retry-After", refuseNext(429, http.Header{"Retry-After": {"1"}}, `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`), "sent", "", 2},
		{"500 then success", refuseNext(500, nil, `{"title":"Internal Server Error","type":"about:blank","status":500}`), "sent", "", 2},
		{"a timeout is retried", func() {
			from := len(xAPI.requests())
			xAPI.setAnswer(func(n int, r fakeRequest) (int, http.Header, string) {
				if n == from+1 {
					time.Sleep(1500 * time.Millisecond) // beyond the attempt timeout (1s here)
				}
				return xOK(n, r)
			})
		}, "sent", "", 2},
		{"the person's DM settings refuse us", refuseNext(403, nil, `{"detail":"You are not permitted to send Direct Messages to this user.","type":"about:blank","title":"Forbidden","status":403}`), "failed", "blocked", 1},
	})
	t.Run("a revoked token fails the reply and marks the link", func(t *testing.T) {
		xAPI.setAnswer(func(int, fakeRequest) (int, http.Header, string) {
			return 401, nil, `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`
		})
		id := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "still here", "")).Message.Id
		if f := waitStatus(t, a, thread.Id, id, "failed"); f.FailureReason != "auth" {
			t.Fatalf("failed %+v", f)
		}
		waitFor(t, "the link marked unhealthy", func() bool { return !linkHealthy(a, link.Id) })
	})
	noSecrets(t, s, a, logs, xToken, tgxConsumerSecret)
}

// TestBlueskyReply: a Bluesky account answers a convo through the chat proxy; the poll of the
// reply (the convo's log holds our own message), after the send or before the PDS answered,
// shows it once; faults end where they must.
func TestBlueskyReply(t *testing.T) {
	t.Parallel()
	blue := blueskytest.New(t, polltest.FixtureDir(t, "bluesky"))
	logs := &syncBuffer{}
	s := startSender(t, senderRoles, platforms.BaseURLs{"bluesky": blue.URL}, logs, pollingSender)
	a := apiOf(t, s)
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_BLUESKY, PlatformId: blueskytest.DID, Username: blueskytest.Identifier,
		Credentials: map[string]string{"identifier": blueskytest.Identifier, "app_password": blueskytest.AppPassword}}).AccountLink
	if c := link.Capabilities; c == nil || !c.Send || c.TextLimit != 1000 || !c.ReplyTo || len(c.Attachments) != 0 {
		t.Fatalf("bluesky capabilities: %+v", c)
	}
	thread := pcWaitThreads(t, a, link.Id, 4, 18)["3kt4jgm5nc32q"]
	msgs := a.messages(thread.Id, 50)
	inbound := msgs[len(msgs)-1] // "You smell funny"

	r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{
		ThreadId: thread.Id, Text: "I do not.", ReplyToMessageId: inbound.Id, IdempotencyKey: "b-1"})
	sent := waitStatus(t, a, thread.Id, r.Message.Id, "sent")
	sends := blue.Sends()
	if len(sends) != 1 || sent.PlatformId != "3sent00000001" || sent.ReplyToMessageId != inbound.Id {
		t.Fatalf("%d sendMessage calls; sent %+v", len(sends), sent)
	}
	if !strings.HasPrefix(sends[0].Authorization, "Bearer access-") || sends[0].Proxy != "did:web:api.bsky.chat#bsky_chat" ||
		string(sends[0].Body) != `{"convoId":"3kt4jgm5nc32q","message":{"replyTo":{"messageId":"3l7dmb2oa4p26"},"text":"I do not."}}` {
		t.Fatalf("sendMessage %+v %s", sends[0], sends[0].Body)
	}
	// The poll reads the log past our message: nothing new.
	waitFor(t, "the poll past our message", func() bool { return blue.PolledPast(sent.PlatformId) })
	if n := receivedWith(a, sent.PlatformId); n != 0 {
		t.Fatalf("the poll of our reply recorded %d message.received", n)
	}
	if n := len(a.messages(thread.Id, 50)); n != 14 {
		t.Fatalf("thread shows %d messages, want 13 and our reply", n)
	}

	t.Run("the poll sees the reply before the PDS answers", func(t *testing.T) {
		blue.BeforeAnswer(func(id string) {
			deadline := time.Now().Add(20 * time.Second)
			for !blue.PolledPast(id) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		})
		defer blue.BeforeAnswer(nil)
		r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "second", "b-2"))
		waitStatus(t, a, thread.Id, r.Message.Id, "sent")
		if n, polled := sentEvents(a, r.Message.Id); n != 1 || !polled {
			t.Fatalf("%d message.sent events (from the poll: %v), want 1 from the poll", n, polled)
		}
		if n := len(a.messages(thread.Id, 50)); n != 15 {
			t.Fatalf("thread shows %d messages, want 15", n)
		}
	})
	err := a.try("/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{ThreadId: thread.Id,
		Attachments: []*v1.Attachment{{Type: "image", Url: "https://cdn.example/a.png"}}}, &v1.SendMessageResponse{})
	if codeOf(err).String() != "invalid_argument" || !strings.Contains(messageOf(err), "bluesky") || !strings.Contains(messageOf(err), `"image"`) {
		t.Fatalf("an image on Bluesky: %v", err)
	}
	fail := func(f blueskytest.Fault) func() { return func() { blue.FailSends(f) } }
	runSendFaults(t, a, thread.Id, func() int { return len(blue.Sends()) }, []sendFault{
		{"429 waits Retry-After", fail(blueskytest.Fault{Status: 429, Name: "RateLimitExceeded", Msg: "Rate Limit Exceeded", RetryAfter: "1"}), "sent", "", 2},
		{"500 then success", fail(blueskytest.Fault{Status: 500, Name: "InternalServerError", Msg: "Internal Server Error"}), "sent", "", 2},
		{"a locked convo fails at once", fail(blueskytest.Fault{Status: 400, Name: "ConvoLocked", Msg: "convo is locked"}), "failed", "blocked", 1},
	})
	t.Run("a revoked app password fails the reply and marks the link", func(t *testing.T) {
		blue.Revoke()
		id := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "still here", "")).Message.Id
		if f := waitStatus(t, a, thread.Id, id, "failed"); f.FailureReason != "auth" {
			t.Fatalf("failed %+v", f)
		}
		waitFor(t, "the link marked unhealthy", func() bool { return !linkHealthy(a, link.Id) })
	})
	noSecrets(t, s, a, logs, blueskytest.AppPassword)
}

// TestRedditReply: a Reddit account answers a private message in its thread (/api/comment);
// the inbox poll of the reply, after the send or before Reddit answered, shows it once;
// faults end where they must.
func TestRedditReply(t *testing.T) {
	t.Parallel()
	red := reddittest.New(t, polltest.FixtureDir(t, "reddit"))
	logs := &syncBuffer{}
	s := startSender(t, senderRoles, platforms.BaseURLs{"reddit": red.URL}, logs, pollingSender)
	a := apiOf(t, s)
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_REDDIT, PlatformId: reddittest.Username, Username: reddittest.Username,
		Credentials: map[string]string{"client_id": reddittest.ClientID, "client_secret": reddittest.ClientSecret,
			"refresh_token": reddittest.RefreshToken}}).AccountLink
	if c := link.Capabilities; c == nil || !c.Send || c.TextLimit != 10000 || len(c.Attachments) != 0 {
		t.Fatalf("reddit capabilities: %+v", c)
	}
	thread := pcWaitThreads(t, a, link.Id, 44, 62)["t4_22ydk2c"]

	r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "Thanks, **noted**.", "r-1"))
	sent := waitStatus(t, a, thread.Id, r.Message.Id, "sent")
	sends := red.Sends()
	if len(sends) != 1 || sent.PlatformId != "t4_zz000001" {
		t.Fatalf("%d replies; sent %+v", len(sends), sent)
	}
	f := sends[0]
	if !strings.HasPrefix(f.Authorization, "bearer token-") || f.UserAgent != "server:switchboard:v1 (by /u/<USERNAME>)" ||
		f.ContentType != "application/x-www-form-urlencoded" ||
		fmt.Sprint(f.Form) != "map[api_type:json text:Thanks, **noted**. thing_id:t4_22ydk2c]" {
		t.Fatalf("reply %+v", f)
	}
	waitFor(t, "the poll past our reply", func() bool { return red.PolledPast(sent.PlatformId) })
	if n := receivedWith(a, sent.PlatformId); n != 0 {
		t.Fatalf("the poll of our reply recorded %d message.received", n)
	}
	if n := len(a.messages(thread.Id, 50)); n != 3 {
		t.Fatalf("thread shows %d messages, want 2 and our reply", n)
	}

	t.Run("the poll sees the reply before Reddit answers", func(t *testing.T) {
		red.BeforeAnswer(func(name string) {
			deadline := time.Now().Add(20 * time.Second)
			for !red.PolledPast(name) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		})
		defer red.BeforeAnswer(nil)
		r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(thread.Id, "second", "r-2"))
		waitStatus(t, a, thread.Id, r.Message.Id, "sent")
		if n, polled := sentEvents(a, r.Message.Id); n != 1 || !polled {
			t.Fatalf("%d message.sent events (from the poll: %v), want 1 from the poll", n, polled)
		}
		if n := len(a.messages(thread.Id, 50)); n != 4 {
			t.Fatalf("thread shows %d messages, want 4", n)
		}
	})
	fail := func(f reddittest.Fault) func() { return func() { red.FailSends(f) } }
	runSendFaults(t, a, thread.Id, func() int { return len(red.Sends()) }, []sendFault{
		{"429 waits X-Ratelimit-Reset", fail(reddittest.Fault{Status: 429, Header: map[string]string{"X-Ratelimit-Reset": "1", "X-Ratelimit-Remaining": "0.0"},
			Body: `{"message": "Too Many Requests", "error": 429}`}), "sent", "", 2},
		{"500 then success", fail(reddittest.Fault{Status: 500, Body: `{"message": "Internal Server Error", "error": 500}`}), "sent", "", 2},
		{"the person refuses messages", fail(reddittest.Fault{Status: 200,
			Body: `{"json": {"errors": [["NOT_WHITELISTED_BY_USER_MESSAGE", "You can't send a message to that user.", "to"]]}}`}), "failed", "blocked", 1},
		{"a refused scope fails the reply and marks the link", fail(reddittest.Fault{Status: 403, Body: `{"message": "Forbidden", "error": 403}`}), "failed", "auth", 1},
	})
	waitFor(t, "the link marked unhealthy", func() bool { return !linkHealthy(a, link.Id) })
	noSecrets(t, s, a, logs, reddittest.ClientSecret, reddittest.RefreshToken)
}
