package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

const (
	tgxBotID         = "7000000001"
	tgxWebhookSecret = "tg-webhook_Secret-1"
	// X DevRel's example consumer secret, with the CRC check value SOURCES.md computed from it.
	tgxConsumerSecret = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"
	tgxCRCToken       = "9b4507b3-9040-4669-9ca3-6b94edb50553"
	tgxCRCResponse    = "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="
	tgxSupergroup     = "-1001293752024"
)

// TestTelegramXWebhooks drives Telegram and X webhooks through the real server: linked
// accounts, the shared samples POSTed with their secret or signature, what the API then shows,
// and that unsigned, badly signed and redelivered bodies append nothing.
func TestTelegramXWebhooks(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := func(p v1.Platform, platformID, username string, creds map[string]string) *v1.AccountLink {
		return call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
			Platform: p, PlatformId: platformID, Username: username, Credentials: creds}).AccountLink
	}
	tg := link(v1.Platform_PLATFORM_TELEGRAM, tgxBotID, "shop_bot",
		map[string]string{"bot_token": tgxBotID + ":AAE-not-a-real-token", "webhook_secret": tgxWebhookSecret})
	xCreds := map[string]string{"consumer_key": "ck", "consumer_secret": tgxConsumerSecret, "access_token": "at", "access_token_secret": "ats"}
	xExample := link(v1.Platform_PLATFORM_X, "1111111111111111111", "ExampleUser", xCreds)
	xHarrison := link(v1.Platform_PLATFORM_X, "4337869213", "Harris_0ff", xCreds)

	t.Run("telegram", func(t *testing.T) { tgxTelegram(t, s, a.on(t), tg) })
	t.Run("x", func(t *testing.T) { tgxX(t, s, a.on(t), xExample, xHarrison) })
}

func tgxTelegram(t *testing.T, s *server.Server, a api, tg *v1.AccountLink) {
	post := func(body []byte, secret string) int {
		t.Helper()
		h := http.Header{"Content-Type": {"application/json"}}
		if secret != "" {
			h.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		return tgxPost(t, s.Addr, tg.WebhookPath, body, h)
	}
	photo := []byte(`{"update_id":306197399,"message":` + string(tgxFixture(t, "telegram/teloxide/message_private_photo_with_caption.json")) + `}`)
	member := []byte(`{"update_id":439432601,"message":{"message_id":134547,"from":{"id":6962620676,"is_bot":false,"first_name":"Wert","username":"WertCrypto"},` +
		`"chat":{"id":-1001293752024,"title":"CryptoInside Chat","type":"supergroup","username":"cryptoinside_talk"},"date":1721592600,"text":"same here"}}`)
	ours := []byte(`{"update_id":306197400,"message":{"message_id":155,"from":{"id":7000000001,"is_bot":true,"first_name":"Shop","username":"shop_bot"},` +
		`"chat":{"id":408258968,"first_name":"Hirrolot","username":"hirrolot","type":"private"},"date":1581448900,"text":"4 it is!",` +
		`"reply_to_message":{"message_id":154,"chat":{"id":408258968,"type":"private"},"date":1581448857,"text":"4"}}}`)
	channel := []byte(`{"update_id":306197401,"channel_post":{"message_id":1,"chat":{"id":-1002149282975,"title":"TON Spin","type":"channel"},"date":1721592000,"text":"news"}}`)

	// Unauthentic deliveries change nothing, and the adapter has no handshake.
	head := tgxHead(t, s)
	text := tgxFixture(t, "telegram/teloxide/update_private_chat_text_message.json")
	for name, secret := range map[string]string{"no secret": "", "wrong secret": tgxWebhookSecret + "x"} {
		if code := post(text, secret); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	if code := tgxGet(t, s.Addr, tg.WebhookPath); code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", code)
	}
	if after := tgxHead(t, s); after != head {
		t.Fatalf("an unauthentic delivery appended events: head %s → %s", head, after)
	}

	for _, body := range [][]byte{text, photo, ours,
		tgxFixture(t, "telegram/teloxide/update_supergroup_text_reply_to_message.json"), member,
		tgxFixture(t, "telegram/official_webhooks_guide/message_document.update.json"),
		tgxFixture(t, "telegram/official_webhooks_guide/edited_message.update.json"), channel} {
		if code := post(body, tgxWebhookSecret); code != http.StatusOK {
			t.Fatalf("POST %s: %d", body[:40], code)
		}
	}
	// Telegram redelivers an unacknowledged update: nothing new.
	head = tgxHead(t, s)
	if code := post(member, tgxWebhookSecret); code != http.StatusOK {
		t.Fatalf("redelivery: %d", code)
	}
	if after := tgxHead(t, s); after != head {
		t.Fatalf("a redelivery appended events: head %s → %s", head, after)
	}

	threads := tgxThreads(t, s, a, tg.Id, 4)
	hiro := threads["408258968"]
	if hiro == nil || hiro.Prospect.Username != "hirrolot" || hiro.Prospect.DisplayName != "Hirrolot" || hiro.MessageCount != 2 ||
		hiro.LastMessageDirection != v1.Direction_DIRECTION_OUTBOUND || hiro.LastMessageText != "4 it is!" {
		t.Fatalf("private chat thread: %+v", hiro)
	}
	msgs := tgxMessages(a, hiro.Id, 10)
	if len(msgs) != 2 || msgs[0].Text != "4" || msgs[0].Direction != v1.Direction_DIRECTION_INBOUND || msgs[0].PlatformId != "408258968:154" ||
		msgs[1].Direction != v1.Direction_DIRECTION_OUTBOUND || msgs[1].ReplyToMessageId != msgs[0].Id {
		t.Fatalf("private chat messages: %+v", msgs)
	}

	// A group chat is one thread, whoever writes in it.
	group := threads[tgxSupergroup]
	if group == nil || group.MessageCount != 2 || group.Prospect.Username != "spacewhaleblues" || group.LastMessageText != "same here" {
		t.Fatalf("supergroup thread: %+v", group)
	}
	msgs = tgxMessages(a, group.Id, 10)
	if len(msgs) != 2 || msgs[0].Text != "/report" || msgs[0].Sender.GetUsername() != "spacewhaleblues" ||
		msgs[1].Sender.GetUsername() != "WertCrypto" || msgs[1].Direction != v1.Direction_DIRECTION_INBOUND {
		t.Fatalf("supergroup messages: %+v", msgs)
	}

	crax := threads["27433968"]
	msgs = tgxMessages(a, crax.GetId(), 10)
	if len(msgs) != 1 || msgs[0].Text != "www.example.com" || len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0].Type != "image" ||
		msgs[0].Attachments[0].PlatformId != "AgACAgQAAxkBAAINhGKvijUVSn2i3980bQIIc1fqWGNCAAJpvDEbEmaBUfuA43fR-BnlAQADAgADeQADJAQ" ||
		crax.Prospect.DisplayName != "Crax | rats addict" {
		t.Fatalf("photo: %+v in %+v", msgs, crax)
	}
	// The edit lands on the document message it names (chat 1111111, message 1365).
	doc := threads["1111111"]
	waitFor(t, "the edit projected", func() bool {
		msgs = tgxMessages(a, doc.GetId(), 10)
		return len(msgs) == 1 && msgs[0].Edited
	})
	if msgs[0].Text != "Edited text" || len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0].Name != "Testfile.pdf" ||
		msgs[0].Attachments[0].MimeType != "application/pdf" || msgs[0].Attachments[0].Type != "file" {
		t.Fatalf("edited document: %+v", msgs)
	}
}

func tgxX(t *testing.T, s *server.Server, a api, example, harrison *v1.AccountLink) {
	post := func(path string, body []byte, sig string) int {
		t.Helper()
		h := http.Header{"Content-Type": {"application/json"}}
		if sig != "" {
			h.Set("x-twitter-webhooks-signature", sig)
		}
		return tgxPost(t, s.Addr, path, body, h)
	}
	sign := func(body []byte) string {
		m := hmac.New(sha256.New, []byte(tgxConsumerSecret))
		m.Write(body)
		return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}

	// The CRC check.
	resp, err := http.Get("http://" + s.Addr + example.WebhookPath + "?crc_token=" + url.QueryEscape(tgxCRCToken))
	if err != nil {
		t.Fatal(err)
	}
	var crc struct {
		ResponseToken string `json:"response_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&crc)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || crc.ResponseToken != tgxCRCResponse {
		t.Fatalf("CRC: %d %+v %v", resp.StatusCode, crc, err)
	}

	received := tgxFixture(t, "x/xaa_dm.received.json")
	head := tgxHead(t, s)
	for name, sig := range map[string]string{"no signature": "", "wrong signature": sign(append(received, ' ')),
		"hex signature": "sha256=0123abcd"} {
		if code := post(example.WebhookPath, received, sig); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	if after := tgxHead(t, s); after != head {
		t.Fatalf("an unsigned delivery appended events: head %s → %s", head, after)
	}

	for _, d := range []struct {
		link *v1.AccountLink
		file string
	}{
		{example, "x/xaa_dm.received.json"}, {example, "x/xaa_dm.sent.json"}, {example, "x/xaa_chat.received_truncated.json"},
		{harrison, "x/aaa_direct_message_events.json"}, {harrison, "x/aaa_direct_message_indicate_typing_events.json"},
		{harrison, "x/aaa_direct_message_mark_read_events.json"},
	} {
		body := tgxFixture(t, d.file)
		if code := post(d.link.WebhookPath, body, sign(body)); code != http.StatusOK {
			t.Fatalf("POST %s: %d", d.file, code)
		}
	}
	// X redelivers (and AAA replays): nothing new.
	head = tgxHead(t, s)
	for path, f := range map[string]string{example.WebhookPath: "x/xaa_dm.received.json", harrison.WebhookPath: "x/aaa_direct_message_mark_read_events.json"} {
		body := tgxFixture(t, f)
		if code := post(path, body, sign(body)); code != http.StatusOK {
			t.Fatalf("redelivery of %s: %d", f, code)
		}
	}
	if after := tgxHead(t, s); after != head {
		t.Fatalf("a redelivery appended events: head %s → %s", head, after)
	}

	threads := tgxThreads(t, s, a, example.Id, 2)
	in := threads["1111111111111111111-2222222222222222222"]
	if in == nil || in.Prospect.Username != "OtherUser" || in.Prospect.AvatarUrl == "" || in.LastMessageText != "hello!" ||
		in.LastMessageDirection != v1.Direction_DIRECTION_INBOUND || in.UnreadCount != 1 {
		t.Fatalf("inbound thread: %+v", in)
	}
	out := threads["2244994945-1111111111111111111"]
	if out == nil || out.Prospect.DisplayName != "X Developers" || out.LastMessageText != "Thanks for the update!" ||
		out.LastMessageDirection != v1.Direction_DIRECTION_OUTBOUND || out.Request {
		t.Fatalf("outbound thread: %+v", out)
	}
	msgs := tgxMessages(a, out.Id, 10)
	if len(msgs) != 1 || msgs[0].PlatformId != "2080763914820927863" || msgs[0].Sender.GetUsername() != "ExampleUser" {
		t.Fatalf("outbound message: %+v", msgs)
	}
	threads = tgxThreads(t, s, a, harrison.Id, 1)
	j := threads["3001969357-4337869213"]
	if j == nil || j.Prospect.DisplayName != "Jordan Brinks" || j.Prospect.Username != "furiouscamper" || j.LastMessageText != "Hello World!" {
		t.Fatalf("AAA thread: %+v", j)
	}
}

// tgxThreads waits until an account link shows n threads and returns them by platform id.
func tgxThreads(t *testing.T, s *server.Server, a api, linkID string, n int) map[string]*v1.Thread {
	t.Helper()
	// Webhooks are acknowledged before projection: read once everything they brought is applied.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	var got []*v1.Thread
	waitFor(t, "the webhook's threads listed", func() bool {
		got = a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, AccountLinkId: linkID})
		return len(got) >= n
	})
	byID := map[string]*v1.Thread{}
	var ids []string
	for _, th := range got {
		byID[th.PlatformId] = th
		ids = append(ids, th.PlatformId)
	}
	sort.Strings(ids)
	if len(got) != n || len(byID) != n {
		t.Fatalf("threads %v, want %d", ids, n)
	}
	return byID
}

// tgxMessages lists a thread's messages, oldest first.
func tgxMessages(a api, threadID string, pageSize int32) []*v1.Message {
	a.t.Helper()
	msgs := a.messages(threadID, pageSize)
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].SentAt.AsTime().Before(msgs[j].SentAt.AsTime()) })
	return msgs
}

// tgxFixture reads a shared platform sample (../shared/fixtures/platforms/<path>): skipped, or
// failed under CI=true, as pt.FixtureDir says.
func tgxFixture(t *testing.T, path string) []byte {
	t.Helper()
	platform, rest, _ := strings.Cut(path, "/")
	b, err := os.ReadFile(filepath.Join(pt.FixtureDir(t, platform), filepath.FromSlash(rest)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tgxPost(t *testing.T, addr, path string, body []byte, h http.Header) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func tgxGet(t *testing.T, addr, path string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func tgxHead(t *testing.T, s *server.Server) string {
	t.Helper()
	c, err := s.EventLog().Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}
