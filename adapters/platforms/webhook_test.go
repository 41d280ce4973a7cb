package platforms

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// fakeHook signs with a shared secret header and turns each body line into a message.
type fakeHook struct{ parsed int }

func (*fakeHook) Platform() domain.Platform { return domain.PlatformTelegram }
func (*fakeHook) Handshake(w http.ResponseWriter, r *http.Request, creds map[string]string) {
	_, _ = w.Write([]byte("hello " + creds["webhook_secret"][:2]))
}
func (*fakeHook) Verify(r *http.Request, _ []byte, creds map[string]string) error {
	if r.Header.Get("X-Secret") != creds["webhook_secret"] {
		return ErrSignature
	}
	return nil
}
func (h *fakeHook) Parse(body []byte, link Link) ([]domain.PlatformItem, error) {
	h.parsed++
	if strings.HasPrefix(string(body), "{") {
		return nil, errors.New("not lines")
	}
	var items []domain.PlatformItem
	for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		items = append(items, domain.PlatformMessage{PlatformMessageID: l, Direction: domain.Inbound,
			Prospect: domain.Participant{PlatformID: "u1"}, Text: l})
	}
	return items, nil
}

type fakeLinks map[string]projections.AccountLink

func (f fakeLinks) AccountLinkByID(_ context.Context, id string) (projections.AccountLink, error) {
	if l, ok := f[id]; ok {
		return l, nil
	}
	return projections.AccountLink{}, projections.ErrNotFound
}

type fakeCreds struct{}

func (fakeCreds) Get(context.Context, string, string) (map[string]string, error) {
	return map[string]string{"webhook_secret": "s3cret"}, nil
}

type fakeReceiver struct {
	got  []commands.ReceivePlatform
	fail bool
}

func (r *fakeReceiver) Handle(_ context.Context, c commands.ReceivePlatform) (commands.ReceiveResult, error) {
	if r.fail {
		return commands.ReceiveResult{}, domain.Unavailable("the event log", errors.New("down"))
	}
	r.got = append(r.got, c)
	return commands.ReceiveResult{Appended: len(c.Items)}, nil
}

func TestWebhookEndpoint(t *testing.T) {
	hook, recv := &fakeHook{}, &fakeReceiver{}
	links := fakeLinks{
		"acc_live":     {ID: "acc_live", TeamID: "team_1", Platform: "telegram", PlatformID: "bot"},
		"acc_unlinked": {ID: "acc_unlinked", TeamID: "team_1", Platform: "telegram", Unlinked: true},
		"acc_other":    {ID: "acc_other", TeamID: "team_1", Platform: "messenger"},
	}
	srv := httptest.NewServer(NewHandler(HandlerDeps{Links: links, Credentials: fakeCreds{}, Receiver: recv,
		Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), MaxBody: 64}, hook))
	defer srv.Close()
	post := func(path, secret, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		if secret != "" {
			req.Header.Set("X-Secret", secret)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	cases := []struct {
		name, path, secret, body string
		status                   int
	}{
		{"unknown platform", "/webhooks/myspace/acc_live", "s3cret", "m1", 404},
		{"unknown link", "/webhooks/telegram/acc_nope", "s3cret", "m1", 404},
		{"unlinked", "/webhooks/telegram/acc_unlinked", "s3cret", "m1", 404},
		{"link of another platform", "/webhooks/telegram/acc_other", "s3cret", "m1", 404},
		{"missing signature", "/webhooks/telegram/acc_live", "", "m1", 401},
		{"bad signature", "/webhooks/telegram/acc_live", "guess", "m1", 401},
		{"too large", "/webhooks/telegram/acc_live", "s3cret", strings.Repeat("x", 65), 413},
		{"not the platform's format", "/webhooks/telegram/acc_live", "s3cret", "{}", 400},
	}
	for _, c := range cases {
		if code, _ := post(c.path, c.secret, c.body); code != c.status {
			t.Errorf("%s: %d, want %d", c.name, code, c.status)
		}
	}
	if len(recv.got) != 0 {
		t.Fatalf("refused requests reached the receiver: %d", len(recv.got))
	}
	if hook.parsed != 1 { // only the authentic malformed body was parsed
		t.Errorf("parsed %d bodies, want 1: an unsigned body must never be parsed", hook.parsed)
	}
	if code, body := post("/webhooks/telegram/acc_live", "s3cret", "m1\nm2"); code != 200 || body != "EVENT_RECEIVED" {
		t.Fatalf("good request: %d %q", code, body)
	}
	if len(recv.got) != 1 || len(recv.got[0].Items) != 2 || recv.got[0].Origin != domain.OriginWebhook || recv.got[0].Link.ID != "acc_live" {
		t.Fatalf("receiver got %+v", recv.got)
	}
	recv.fail = true
	if code, _ := post("/webhooks/telegram/acc_live", "s3cret", "m3"); code != 503 {
		t.Errorf("not durably recorded: %d, want 503 so the platform retries", code)
	}
	res, err := http.Get(srv.URL + "/webhooks/telegram/acc_live")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "hello s3" {
		t.Errorf("handshake: %q", b)
	}
}
