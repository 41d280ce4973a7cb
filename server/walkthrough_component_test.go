package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/telegram"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// TestREADMEWalkthrough is the README's platform walkthrough through the real server, with the
// payloads the repository ships (testdata/platforms): a Telegram update and a signed Messenger
// webhook arrive, unsigned ones are refused, and both first contacts wait in REQUESTS, which
// the default view (INBOX) leaves out and VIEW_ALL shows.
func TestREADMEWalkthrough(t *testing.T) {
	s := startServer(t, t.TempDir())
	a := api{t, newConnectClient(s.Addr), adminKey}
	base := "http://" + s.Addr
	post := func(path string, body []byte, header ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	link := func(p v1.Platform, platformID string, creds map[string]string) *v1.AccountLink {
		return call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount",
			&v1.LinkAccountRequest{Platform: p, PlatformId: platformID, Credentials: creds}).AccountLink
	}

	tg := link(v1.Platform_PLATFORM_TELEGRAM, "7000000001", map[string]string{telegram.CredBotToken: "123:abc",
		telegram.CredWebhookSecret: "tg-secret-1"})
	update := pt.RepoPayload(t, "telegram", "message_text.update.json")
	if code, body := post(tg.WebhookPath, update, "X-Telegram-Bot-Api-Secret-Token", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("Telegram update with a wrong secret: %d %s, want 401", code, body)
	}
	if code, body := post(tg.WebhookPath, update, "X-Telegram-Bot-Api-Secret-Token", "tg-secret-1"); code != http.StatusOK {
		t.Fatalf("Telegram update: %d %s", code, body)
	}

	ms := link(v1.Platform_PLATFORM_MESSENGER, "100000000000001", map[string]string{meta.CredAppSecret: "s3cr3t",
		meta.CredVerifyToken: "vt", meta.CredAccessToken: "tok"})
	res, err := http.Get(base + ms.WebhookPath + "?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=12345")
	if err != nil {
		t.Fatal(err)
	}
	challenge, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(challenge) != "12345" {
		t.Errorf("Messenger handshake: %d %q, want 200 12345", res.StatusCode, challenge)
	}
	body := pt.RepoPayload(t, "messenger", "text_message.webhook_body.json")
	if code, text := post(ms.WebhookPath, body, "Content-Type", "application/json"); code != http.StatusUnauthorized {
		t.Errorf("unsigned Messenger webhook: %d %s, want 401", code, text)
	}
	if code, text := post(ms.WebhookPath, body, "Content-Type", "application/json", meta.SignatureHeader, meta.Sign(body, "s3cr3t")); code != http.StatusOK {
		t.Fatalf("signed Messenger webhook: %d %s", code, text)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	texts := func(view v1.View) map[string]bool {
		out := map[string]bool{}
		for _, th := range a.threads(&v1.ListThreadsRequest{View: view}) {
			out[th.LastMessageText] = th.Request
		}
		return out
	}
	want := []string{"Hi, what are your opening hours?", "Hello! Do you ship to Lisbon?"}
	if inbox := texts(v1.View_VIEW_UNSPECIFIED); len(inbox) != 0 {
		t.Errorf("ListThreads '{}' (INBOX) shows %v; first contacts belong in REQUESTS", inbox)
	}
	for _, view := range []v1.View{v1.View_VIEW_REQUESTS, v1.View_VIEW_ALL} {
		got := texts(view)
		for _, w := range want {
			if request, ok := got[w]; !ok || !request {
				t.Errorf("%s: no request thread whose last message is %q (got %v)", view, w, got)
			}
		}
	}
}
