package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/apichannel"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

const sourceSecret = "source-Signing_Secret-123"

// TestAPIChannelReply: a custom source gets the team's reply as a signed POST to its
// delivery_url, retried after a 503 with the same message id; its answer's platform id is the
// reply's, and the source ingesting its copy of the reply adds nothing.
func TestAPIChannelReply(t *testing.T) {
	t.Parallel()
	src := newFakePlatform(t, func(n int, r fakeRequest) (int, http.Header, string) {
		ts := r.Header.Get("X-Switchboard-Timestamp")
		if r.Header.Get("X-Switchboard-Signature") != apichannel.Sign(sourceSecret, ts, r.Body) {
			return 401, nil, `{"error":"bad signature"}`
		}
		if n == 1 {
			return 503, nil, `{"error":"try later"}`
		}
		return 200, nil, `{"platform_message_id":"src-out-1"}`
	})
	s := startSender(t, senderRoles, nil, &syncBuffer{})
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_API, PlatformId: "crm", DisplayName: "CRM",
		Credentials: map[string]string{"delivery_url": src.URL + "/deliver", "signing_secret": sourceSecret}}).AccountLink
	in := a.ingest(msg{link: link.Id, prospect: "cust-1", id: "src-in-1", dir: v1.Direction_DIRECTION_INBOUND, text: "hi", at: time.Now()})
	r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(in.ThreadId, "hello from the team", ""))
	sent := waitStatus(t, a, in.ThreadId, r.Message.Id, "sent")
	if sent.PlatformId != "src-out-1" {
		t.Fatalf("sent %+v", sent)
	}
	reqs := src.requests()
	if len(reqs) != 2 {
		t.Fatalf("the source got %d deliveries, want the refused one and its retry", len(reqs))
	}
	for _, q := range reqs {
		var d apichannel.Delivery
		if err := json.Unmarshal(q.Body, &d); err != nil {
			t.Fatal(err)
		}
		ts, _ := strconv.ParseInt(q.Header.Get("X-Switchboard-Timestamp"), 10, 64)
		if q.Path != "/deliver" || q.Header.Get("X-Switchboard-Message-Id") != r.Message.Id || d.MessageID != r.Message.Id ||
			d.Type != "message.send" || d.Text != "hello from the team" || d.RecipientPlatformID != "cust-1" ||
			d.PlatformConversationID != "cust-1" || d.AccountLinkID != link.Id || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Fatalf("delivery %v %s", q.Header, q.Body)
		}
	}
	// The source records its copy of the reply through IngestMessage: the thread shows it once.
	call[v1.IngestMessageResponse](a, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{
		AccountLinkId: link.Id, PlatformMessageId: "src-out-1", Direction: v1.Direction_DIRECTION_OUTBOUND,
		Participant: &v1.Participant{PlatformId: "cust-1"}, Text: "hello from the team", SentAt: timestamppb.Now()})
	if msgs := a.messages(in.ThreadId, 100); len(msgs) != 2 {
		t.Fatalf("thread shows %d messages, want 2", len(msgs))
	}
	if strings.Contains(fmt.Sprint(a.events()), sourceSecret) {
		t.Fatal("the event log holds the signing secret")
	}
}

const (
	waPhoneID = "106540352242922"
	waUser    = "16505551234"
	waToken   = "EAAwa-Token-for-send-tests"
)

func waBody(value string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"15550783881","phone_number_id":"` + waPhoneID + `"},` + value + `},"field":"messages"}]}]}`)
}

func waInbound(from, id string, at time.Time) []byte {
	return waBody(fmt.Sprintf(`"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":"Does it come in another color?"}}]`,
		from, from, id, at.Unix()))
}

func waStatus(id, status string) []byte {
	return waBody(fmt.Sprintf(`"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":%q}]`, id, status, time.Now().Unix(), waUser))
}

// TestWhatsAppReply: a Cloud API reply, its statuses moving it sent → delivered → read, and the
// 24 h rule refusing plain text up front.
func TestWhatsAppReply(t *testing.T) {
	t.Parallel()
	graph := newFakePlatform(t, func(n int, r fakeRequest) (int, http.Header, string) {
		return 200, nil, fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.OUT%d"}]}`, waUser, waUser, n)
	})
	s := startSender(t, senderRoles, platforms.BaseURLs{"whatsapp": graph.URL}, &syncBuffer{})
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_WHATSAPP, PlatformId: waPhoneID, Username: "15550783881",
		Credentials: map[string]string{"app_secret": metaAppSecret, "verify_token": "vt", "access_token": waToken}}).AccountLink
	if code := metaPost(t, s, link.WebhookPath, waInbound(waUser, "wamid.IN1", time.Now().Add(-time.Hour))); code != 200 {
		t.Fatalf("webhook %d", code)
	}
	thread := tgxThreads(t, s, a, link.Id, 1)[waUser]
	inbound := a.messages(thread.Id, 10)[0]
	r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{
		ThreadId: thread.Id, Text: "Yes, in blue", ReplyToMessageId: inbound.Id})
	sent := waitStatus(t, a, thread.Id, r.Message.Id, "sent")
	reqs := graph.sends()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	var body map[string]any
	_ = json.Unmarshal(reqs[0].Body, &body)
	want := `map[context:map[message_id:wamid.IN1] messaging_product:whatsapp recipient_type:individual text:map[body:Yes, in blue preview_url:false] to:16505551234 type:text]`
	if reqs[0].Path != "/v25.0/"+waPhoneID+"/messages" || reqs[0].Header.Get("Authorization") != "Bearer "+waToken || fmt.Sprint(body) != want {
		t.Fatalf("request %s %s", reqs[0].Path, reqs[0].Body)
	}
	head := tgxHead(t, s)
	if code := metaPost(t, s, link.WebhookPath, waStatus(sent.PlatformId, "sent")); code != 200 {
		t.Fatal(code)
	}
	if tgxHead(t, s) != head {
		t.Fatal("the sent status of a reply already sent appended events")
	}
	for _, st := range []string{"delivered", "read"} {
		if code := metaPost(t, s, link.WebhookPath, waStatus(sent.PlatformId, st)); code != 200 {
			t.Fatal(code)
		}
		waitStatus(t, a, thread.Id, r.Message.Id, st)
	}
	// A late delivered status never moves it back.
	if code := metaPost(t, s, link.WebhookPath, waStatus(sent.PlatformId, "delivered")); code != 200 {
		t.Fatal(code)
	}
	if m := waitStatus(t, a, thread.Id, r.Message.Id, "read"); len(a.messages(thread.Id, 10)) != 2 {
		t.Fatalf("thread shows more than the message and the reply: %+v", m)
	}

	// Outside 24 h only a template: plain text is refused up front, naming the rule.
	if code := metaPost(t, s, link.WebhookPath, waInbound("16505550000", "wamid.IN_OLD", time.Now().Add(-25*time.Hour))); code != 200 {
		t.Fatal(code)
	}
	stale := tgxThreads(t, s, a, link.Id, 2)["16505550000"]
	head = tgxHead(t, s)
	err := a.try("/switchboard.v1.ThreadService/SendMessage", sendReq(stale.Id, "still interested?", ""), &v1.SendMessageResponse{})
	wantCode(t, "outside the window", err, connect.CodeFailedPrecondition)
	if !strings.Contains(messageOf(err), "whatsapp_24h_window") || tgxHead(t, s) != head {
		t.Fatalf("%q; head %s → %s", messageOf(err), head, tgxHead(t, s))
	}

	// An approved template goes out outside the window, its parameters in the body component.
	if c := link.Capabilities; !c.Templates {
		t.Fatalf("whatsapp capabilities do not offer templates: %+v", c)
	}
	tmpl := &v1.MessageTemplate{Name: "order_update", Language: "en_US", Parameters: []string{"Ada", "#1234"}}
	for _, bad := range []struct {
		req   *v1.SendMessageRequest
		field string
	}{
		{&v1.SendMessageRequest{ThreadId: stale.Id, Template: &v1.MessageTemplate{Name: "Order Update!", Language: "en_US"}}, "template.name"},
		{&v1.SendMessageRequest{ThreadId: stale.Id, Template: &v1.MessageTemplate{Name: "order_update"}}, "template.language"},
		{&v1.SendMessageRequest{ThreadId: stale.Id, Template: tmpl, Text: "and some text"}, "text"},
	} {
		err := a.try("/switchboard.v1.ThreadService/SendMessage", bad.req, &v1.SendMessageResponse{})
		wantCode(t, bad.field, err, connect.CodeInvalidArgument)
		if !strings.Contains(messageOf(err), bad.field) || tgxHead(t, s) != head {
			t.Fatalf("%q does not name %s, or the log moved", messageOf(err), bad.field)
		}
	}
	from := len(graph.sends())
	r = call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{ThreadId: stale.Id, Template: tmpl})
	if m := waitStatus(t, a, stale.Id, r.Message.Id, "sent"); m.Text != "[template order_update en_US: Ada, #1234]" {
		t.Fatalf("the thread shows the template reply as %q", m.Text)
	}
	reqs = graph.sends()[from:]
	body = nil
	_ = json.Unmarshal(reqs[0].Body, &body)
	want = `map[messaging_product:whatsapp recipient_type:individual template:map[components:[map[parameters:[map[text:Ada type:text] map[text:#1234 type:text]] type:body]] language:map[code:en_US] name:order_update] to:16505550000 type:template]`
	if len(reqs) != 1 || fmt.Sprint(body) != want {
		t.Fatalf("%d requests; template body %s\nwant %s", len(reqs), fmt.Sprint(body), want)
	}
	// Templates are WhatsApp's: elsewhere the field is refused, naming it.
	tg := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_API, PlatformId: "crm-templates"}).AccountLink
	in := a.ingest(msg{link: tg.Id, prospect: "cust-t", id: "in-t", dir: v1.Direction_DIRECTION_INBOUND, text: "hi", at: time.Now()})
	err = a.try("/switchboard.v1.ThreadService/SendMessage", &v1.SendMessageRequest{ThreadId: in.ThreadId, Template: tmpl}, &v1.SendMessageResponse{})
	wantCode(t, "a template on the API channel", err, connect.CodeInvalidArgument)
	if !strings.Contains(messageOf(err), "template") {
		t.Fatalf("%q does not name the template", messageOf(err))
	}
}

// TestCancelSend: a pending reply no sender attempted (here no process runs the sender role)
// can be cancelled, twice without harm, and is then never sent nor retried.
func TestCancelSend(t *testing.T) {
	t.Parallel()
	s := startSender(t, []string{"api", "ingest", "projector"}, nil, &syncBuffer{})
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := a.link(v1.Platform_PLATFORM_API, "cancel-shop")
	in := a.ingest(msg{link: link.Id, prospect: "cust-1", id: "in-1", dir: v1.Direction_DIRECTION_INBOUND, text: "hi", at: time.Now()})
	r := call[v1.SendMessageResponse](a, "/switchboard.v1.ThreadService/SendMessage", sendReq(in.ThreadId, "oops, wrong thread", ""))
	if r.Message.Status != "pending" {
		t.Fatalf("answered %+v", r.Message)
	}
	first := call[v1.CancelSendResponse](a, "/switchboard.v1.ThreadService/CancelSend", &v1.CancelSendRequest{MessageId: r.Message.Id})
	head := tgxHead(t, s)
	call[v1.CancelSendResponse](a, "/switchboard.v1.ThreadService/CancelSend", &v1.CancelSendRequest{MessageId: r.Message.Id})
	if first.Position == "" || tgxHead(t, s) != head {
		t.Fatalf("cancel: %q; a second cancel moved the log %s → %s", first.Position, head, tgxHead(t, s))
	}
	waitStatus(t, a, in.ThreadId, r.Message.Id, "cancelled")
	err := a.try("/switchboard.v1.ThreadService/RetrySend", &v1.RetrySendRequest{MessageId: r.Message.Id}, &v1.RetrySendResponse{})
	wantCode(t, "retry of a cancelled reply", err, connect.CodeFailedPrecondition)
	err = a.try("/switchboard.v1.ThreadService/CancelSend", &v1.CancelSendRequest{MessageId: in.MessageId}, &v1.CancelSendResponse{})
	wantCode(t, "cancel of a received message", err, connect.CodeFailedPrecondition)
}
