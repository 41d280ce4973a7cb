package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/instagram"
	"github.com/switchboard-oss/switchboard/adapters/platforms/messenger"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/whatsapp"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// metaAccount is one linked Meta account and the secrets its webhooks use.
type metaAccount struct {
	platform       domain.Platform
	link           *v1.AccountLink
	secret, verify string
}

// TestMetaWebhooks: Messenger, Instagram and WhatsApp through the real server, with Meta's
// published samples: the handshake, signatures, the body limit, redelivery, and what the
// inbox shows afterwards.
func TestMetaWebhooks(t *testing.T) {
	pt.FixtureDir(t, "messenger") // skips loudly without the shared samples
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			metaWebhooksScenario(t, b.start(t, t.TempDir()))
		})
	}
}

func metaWebhooksScenario(t *testing.T, s *server.Server) {
	a := api{t, newConnectClient(s.Addr), adminKey}
	linkMeta := func(p v1.Platform, dp domain.Platform, platformID string) metaAccount {
		acc := metaAccount{platform: dp, secret: "app-secret-" + dp.String(), verify: "verify-" + dp.String()}
		acc.link = call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
			Platform: p, PlatformId: platformID, DisplayName: dp.String() + " account",
			Credentials: map[string]string{meta.CredAppSecret: acc.secret, meta.CredVerifyToken: acc.verify,
				meta.CredAccessToken: "EAA-test-token-" + dp.String()},
		}).AccountLink
		return acc
	}
	ms := linkMeta(v1.Platform_PLATFORM_MESSENGER, domain.PlatformMessenger, "<PAGE_ID>")
	ig := linkMeta(v1.Platform_PLATFORM_INSTAGRAM, domain.PlatformInstagram, "<IGID>")
	wa := linkMeta(v1.Platform_PLATFORM_WHATSAPP, domain.PlatformWhatsApp, "106540352242922")
	teamID := call[v1.ListEventsResponse](a, "/switchboard.v1.EventService/ListEvents",
		&v1.ListEventsRequest{Types: []string{domain.TypeAccountLinked}, PageSize: 1}).Events[0].Key

	base := "http://" + s.Addr
	head := func() eventlog.Cursor {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := s.EventLog().Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	do := func(req *http.Request) (int, string) {
		t.Helper()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// post sends body to the account's webhook with the given X-Hub-Signature-256 ("" = none).
	post := func(acc metaAccount, body []byte, signature string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+acc.link.WebhookPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if signature != "" {
			req.Header.Set(meta.SignatureHeader, signature)
		}
		return do(req)
	}
	deliver := func(acc metaAccount, body []byte) {
		t.Helper()
		if code, text := post(acc, body, meta.Sign(body, acc.secret)); code != http.StatusOK {
			t.Fatalf("%s webhook: %d %s", acc.platform, code, text)
		}
	}
	handshake := func(acc metaAccount, token string) (int, string) {
		t.Helper()
		q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}, "hub.verify_token": {token}}
		req, _ := http.NewRequest(http.MethodGet, base+acc.link.WebhookPath+"?"+q.Encode(), nil)
		return do(req)
	}
	unchanged := func(what string, before eventlog.Cursor) {
		t.Helper()
		if after := head(); !reflect.DeepEqual(before, after) {
			t.Errorf("%s appended events: head %v → %v", what, before, after)
		}
	}
	msBody := func(name string, placeholders map[string]string) []byte {
		return pt.MetaBody(t, "messenger", name, messenger.Object, "<PAGE_ID>", placeholders)
	}
	igBody := func(name string) []byte { return pt.MetaBody(t, "instagram", name, instagram.Object, "<IGID>", nil) }
	waBody := func(name string) []byte { return pt.MetaBody(t, "whatsapp", name, whatsapp.Object, "", nil) }

	// The GET handshake: the link's verify token gets the challenge back raw, another 403.
	for _, acc := range []metaAccount{ms, ig, wa} {
		if code, body := handshake(acc, acc.verify); code != http.StatusOK || body != "1158201444" {
			t.Errorf("%s handshake: %d %q", acc.platform, code, body)
		}
		if code, _ := handshake(acc, "not-"+acc.verify); code != http.StatusForbidden {
			t.Errorf("%s handshake with a wrong token: %d, want 403", acc.platform, code)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/webhooks/messenger/acc_unknown?hub.mode=subscribe&hub.verify_token=x", nil)
	if code, _ := do(req); code != http.StatusNotFound {
		t.Errorf("handshake of an unknown link: %d, want 404", code)
	}

	// Refused before anything is parsed or recorded: bad, missing and other links'
	// signatures, and bodies over 1 MiB.
	text := msBody("text_message.messaging_item.json", nil)
	before := head()
	for name, sig := range map[string]string{
		"no signature":             "",
		"another secret":           meta.Sign(text, "not-the-app-secret"),
		"the Instagram app secret": meta.Sign(text, ig.secret),
		"malformed":                "sha256=xyz",
		"sha1":                     "sha1=" + strings.Repeat("0", 40),
	} {
		if code, _ := post(ms, text, sig); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	big := append(append([]byte(`{"object":"page","entry":[],"pad":"`), bytes.Repeat([]byte("x"), 1<<20)...), `"}`...)
	if code, _ := post(ms, big, meta.Sign(big, ms.secret)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MiB: %d, want 413", code)
	}
	unchanged("refused requests", before)

	// Meta retries for 36 hours: the same body again is acknowledged and appends nothing.
	for _, c := range []struct {
		acc  metaAccount
		body []byte
	}{{wa, waBody("image_message.webhook_body.json")}, {ms, msBody("echo_image_attachment.messaging_item.json", nil)}} {
		deliver(c.acc, c.body)
		before := head()
		deliver(c.acc, c.body)
		unchanged(c.acc.platform.String()+" redelivery", before)
	}

	// Everything else.
	textMid := "mid.1457764197618:41d102a3e1ae206a38"
	for _, name := range []string{"text_message.messaging_item.json", "reply_to_message.messaging_item.json",
		"fallback_attachment_link_share.webhook_body.json", "sticker_attachment.entry.json", "text_with_commands.webhook_body.json",
		"message_reads.messaging_item.json", "message_deliveries.messaging_item.json"} {
		deliver(ms, msBody(name, nil))
	}
	deliver(ms, msBody("echo_template_in_standby.webhook_body.jsonc", map[string]string{"<APPID>": "1517776481860111"}))
	deliver(ms, msBody("message_edit.messaging_item.jsonc", map[string]string{"<MESSAGE_ID>": textMid, "<TEXT>": "hello, edited world!"}))
	// Another Page's conversation posted to this link: acknowledged, kept raw, not attributed.
	deliver(ms, []byte(`{"object":"page","entry":[{"id":"999","time":1700000000000,"messaging":[{"sender":{"id":"psid-foreign"},`+
		`"recipient":{"id":"999"},"timestamp":1700000000000,"message":{"mid":"m_foreign","text":"not ours"}}]}]}`))
	for _, name := range []string{"story_reply.webhook_body.json", "message_reaction.webhook_body.json", "messaging_seen.webhook_body.json"} {
		deliver(ig, igBody("instabot_go_sdk/"+name))
	}
	for _, name := range []string{"text_message_with_context_message_business_button.webhook_body.json", "status_sent.webhook_body.json",
		"status_failed.webhook_body.json"} {
		deliver(wa, waBody(name))
	}
	// A redelivery of an inbound message: nothing new from the webhook. (Counted by origin: a
	// profile fetch for the prospect may append poll-origin events meanwhile.)
	webhookEvents := func() int {
		n := 0
		for _, e := range a.events() {
			if e.Origin == string(domain.OriginWebhook) {
				n++
			}
		}
		return n
	}
	n := webhookEvents()
	deliver(ms, msBody("text_message.messaging_item.json", nil))
	deliver(ig, igBody("instabot_go_sdk/story_reply.webhook_body.json"))
	if m := webhookEvents(); m != n {
		t.Errorf("redelivered inbound messages appended %d webhook events", m-n)
	}

	// The inbox.
	threadOf := func(acc metaAccount, prospect string) *v1.Thread {
		t.Helper()
		id := domain.ThreadID(teamID, acc.platform, acc.link.Id, prospect)
		var th *v1.Thread
		waitFor(t, acc.platform.String()+" thread "+prospect, func() bool {
			for _, x := range a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, AccountLinkId: acc.link.Id}) {
				if x.Id == id {
					th = x
				}
			}
			return th != nil
		})
		return th
	}
	byPlatformID := func(th *v1.Thread, want int) map[string]*v1.Message {
		t.Helper()
		out := map[string]*v1.Message{}
		var msgs []*v1.Message
		waitFor(t, "the messages of "+th.Id, func() bool {
			msgs = a.messages(th.Id, 50)
			edited := false
			for _, m := range msgs {
				edited = edited || m.Edited
			}
			return len(msgs) >= want && (th.Platform != v1.Platform_PLATFORM_MESSENGER || edited)
		})
		for _, m := range msgs {
			out[m.PlatformId] = m
		}
		if len(msgs) != want {
			t.Errorf("%s: %d messages, want %d", th.Id, len(msgs), want)
		}
		return out
	}
	msgID := func(acc metaAccount, pmid string) string {
		return domain.MessageID(teamID, acc.platform, acc.link.Id, pmid)
	}
	in, out := v1.Direction_DIRECTION_INBOUND, v1.Direction_DIRECTION_OUTBOUND
	check := func(m *v1.Message, pmid string, dir v1.Direction, text string, atts ...*v1.Attachment) {
		t.Helper()
		if m == nil {
			t.Errorf("message %s missing", pmid)
			return
		}
		if m.Direction != dir || m.Text != text || len(m.Attachments) != len(atts) {
			t.Errorf("message %s: %v %q %v, want %v %q %v", pmid, m.Direction, m.Text, m.Attachments, dir, text, atts)
			return
		}
		for i, at := range atts {
			got := m.Attachments[i]
			if got.Type != at.Type || got.Url != at.Url || got.Name != at.Name || got.PlatformId != at.PlatformId || got.MimeType != at.MimeType {
				t.Errorf("message %s attachment %d: %v, want %v", pmid, i, got, at)
			}
		}
	}

	// Messenger: one thread with the PSID, echoes outbound, the edit applied.
	th := threadOf(ms, "<PSID>")
	if th.Prospect.GetPlatformId() != "<PSID>" || th.Platform != v1.Platform_PLATFORM_MESSENGER {
		t.Errorf("messenger thread prospect %v", th.Prospect)
	}
	msgs := byPlatformID(th, 7)
	check(msgs[textMid], textMid, in, "hello, edited world!")
	if m := msgs[textMid]; m != nil && !m.Edited {
		t.Errorf("the edited message is not marked edited")
	}
	check(msgs["m_1457764197618:41d102a3e1ae206a38"], "reply", in, "hello, world!")
	if m := msgs["m_1457764197618:41d102a3e1ae206a38"]; m != nil && m.ReplyToMessageId != msgID(ms, "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU") {
		t.Errorf("reply_to_message_id %q", m.ReplyToMessageId)
	}
	check(msgs["mid.1458696618141:b4ef9d19ec21086067"], "echo", out, "", &v1.Attachment{Type: "image", Url: "<IMAGE_URL>"})
	if m := msgs["mid.1458696618141:b4ef9d19ec21086067"]; m != nil && m.Sender.GetPlatformId() != "<PAGE_ID>" {
		t.Errorf("echo sender %v, want the Page", m.Sender)
	}
	check(msgs["m_toDnmD..."], "fallback", in, "This is where I want to go: https://youtu.be/bbo_fZAjIhg",
		&v1.Attachment{Type: "share", Url: "<ATTACHMENT_URL >", Name: "TAHITI - Heaven on Earth"})
	check(msgs["mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c"], "sticker", in, "",
		&v1.Attachment{Type: "sticker", Url: "<STICKER_URL>", PlatformId: "369239263222822"})
	check(msgs["m_3vs..."], "commands", in, "find flights from SFO to LAX next Thursday")
	standby := "qT7ywaKpO9kkQR7Gv-nM8LIfLZDamVrALniheUYEDdHJXjDXEAyaS1xxONzb2Iv-DFzmTihfWJV012P5pK0AhQ"
	check(msgs[standby], "standby echo", out, "", &v1.Attachment{Type: "share", Url: "https://www.facebook.com/commerce/update/"})
	for _, x := range a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL}) {
		if x.Prospect.GetPlatformId() == "psid-foreign" {
			t.Errorf("another Page's conversation was attributed to the link: %s", x.Id)
		}
	}

	// Instagram: the story reply with its story.
	th = threadOf(ig, "<IGSID>")
	msgs = byPlatformID(th, 1)
	check(msgs["<MESSAGE_ID>"], "story reply", in, "<MESSAGE_CONTENT>", &v1.Attachment{Type: "story", Url: "<CDN_URL>", PlatformId: "story_id"})

	// WhatsApp: the contact's profile name, the image with its caption, the reply context.
	th = threadOf(wa, "16505551234")
	if th.Prospect.GetDisplayName() != "Sheena Nelson" {
		t.Errorf("whatsapp prospect %v, want Sheena Nelson", th.Prospect)
	}
	msgs = byPlatformID(th, 2)
	check(msgs["wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="], "image", in, "Taj Mahal",
		&v1.Attachment{Type: "image", Url: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...", MimeType: "image/jpeg",
			PlatformId: "1003383421387256"})
	ctxID := "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTA2NTUwRkNEMDdFQjJCRUU0NQA="
	check(msgs[ctxID], "context", in, "Is this still available?")
	if m := msgs[ctxID]; m != nil && m.ReplyToMessageId != msgID(wa, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA") {
		t.Errorf("whatsapp reply_to_message_id %q", m.ReplyToMessageId)
	}

	// The log: read receipts, statuses and the kinds nobody models.
	count := map[string]int{}
	unhandled := map[string]int{}
	for _, e := range a.events() {
		count[e.Type]++
		if e.Type == domain.TypePlatformUnhandled {
			unhandled[e.Data.GetFields()["kind"].GetStringValue()]++
		}
	}
	// Deliveries and statuses of messages that are not the team's replies through Switchboard
	// (the samples' messages were sent from elsewhere) record nothing.
	for typ, want := range map[string]int{domain.TypeThreadSeen: 2, domain.TypeMessageEdited: 1, domain.TypeMessageSendFailed: 0,
		domain.TypeMessageSent: 0, domain.TypeMessageReceived: 10, domain.TypePlatformUnhandled: 2} {
		if count[typ] != want {
			t.Errorf("%d %s events, want %d", count[typ], typ, want)
		}
	}
	if unhandled[meta.KindReaction] != 1 || unhandled[meta.KindForeignAccount] != 1 {
		t.Errorf("platform.unhandled.v1 kinds %v, want one reaction and one foreign_account", unhandled)
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/metrics", nil)
	_, metrics := do(req)
	for _, line := range []string{`switchboard_platform_unhandled_total{kind="reaction",platform="instagram"} 1`,
		`switchboard_platform_unhandled_total{kind="foreign_account",platform="messenger"} 1`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
