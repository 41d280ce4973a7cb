package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
	"github.com/switchboard-oss/switchboard/web"
)

// The browser tests' screenshots (a CI artifact): web/test-results/screenshots.
const browserShots = "../web/test-results/screenshots"

// browserTools finds node, playwright-core (web/node_modules, from `make web` or npm ci) and
// Chromium; without them the browser tests skip loudly, and fail under CI=true.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test: %s (CI=true: the browser tests must run)", what)
		}
		fmt.Printf("SKIP: %s: the web inbox browser tests are skipped (they fail under CI=true)\n", what)
		t.Skipf("SKIP: %s", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node on PATH")
	}
	if _, err := os.Stat("../web/node_modules/playwright-core/package.json"); err != nil {
		missing("no web/node_modules/playwright-core (run: cd web && npm ci)")
	}
	chromium = os.Getenv("SWITCHBOARD_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("no Chromium at " + chromium + " (apt-get install chromium, or set SWITCHBOARD_CHROMIUM)")
	}
	return node, chromium
}

// runBrowser runs web/e2e/inbox.mjs in mode against the page at base and the API at apiURL.
func runBrowser(t *testing.T, node, chromium, mode, protocol, base, apiURL string, seed any) {
	t.Helper()
	seedJSON, _ := json.Marshal(seed)
	shots, _ := filepath.Abs(browserShots)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "e2e/inbox.mjs")
	cmd.Dir = "../web"
	cmd.Env = append(os.Environ(), "BASE="+base, "API="+apiURL, "KEY="+adminKey, "SEED="+string(seedJSON),
		"SHOTS="+shots, "MODE="+mode, "PROTOCOL="+protocol, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser (%s), screenshots in web/test-results/screenshots:\n%s", mode, out)
	if err != nil {
		t.Fatalf("browser test %s failed: %v\n%s", mode, err, out)
	}
}

// TestWebInboxInBrowser: a real Chromium signs in to the inbox the binary serves at /, sees the
// seeded threads, sees a message ingested over HTTP arrive at the top without a reload, opens
// it, replies through a fake Telegram and sees pending then sent (and a refused reply failed,
// with its reason, then sent by Retry), tags the contact and finds
// the thread under the tag filter, and finds the message by search with its highlight.
func TestWebInboxInBrowser(t *testing.T) {
	node, chromium := browserTools(t)
	var refused atomic.Bool
	tg := newFakePlatform(t, func(n int, r fakeRequest) (int, http.Header, string) {
		time.Sleep(1500 * time.Millisecond) // long enough for the page to show "pending"
		// The first message that asks for it is refused for good (the page shows it failed,
		// with the reason and Retry); its retry goes through.
		if strings.Contains(string(r.Body), "please refuse") && refused.CompareAndSwap(false, true) {
			return 403, nil, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`
		}
		return telegramOK(n, r)
	})
	s := startSender(t, senderRoles, platforms.BaseURLs{"telegram": tg.URL}, &syncBuffer{}, func(c *server.Config) {
		c.Send.AttemptTimeout = 10 * time.Second
	})
	a := api{t, newConnectClient(s.Addr), adminKey}
	seed := seedInbox(t, a)
	base := "http://" + s.Addr
	runBrowser(t, node, chromium, "inbox", "grpc-web", base, base, seed)

	var sent []string
	for _, r := range tg.sends() {
		sent = append(sent, string(r.Body))
	}
	if !strings.Contains(strings.Join(sent, "\n"), "Yes, we ship to Lisbon") {
		t.Fatalf("the fake Telegram never received the reply typed in the browser; it got: %q", sent)
	}
}

// TestWebInboxCrossOrigin: the page, served from another origin, calls the API over gRPC-web,
// then over Connect (CORS preflights and all), and lists the threads.
func TestWebInboxCrossOrigin(t *testing.T) {
	node, chromium := browserTools(t)
	s := startServer(t, t.TempDir()) // --cors-origins *
	a := api{t, newConnectClient(s.Addr), adminKey}
	seed := seedInbox(t, a)
	page := httptest.NewServer(http.FileServerFS(web.Assets()))
	t.Cleanup(page.Close)
	for _, protocol := range []string{"grpc-web", "connect"} {
		t.Run(protocol, func(t *testing.T) {
			runBrowser(t, node, chromium, "cors", protocol, strings.Replace(page.URL, "127.0.0.1", "localhost", 1), "http://"+s.Addr, seed)
		})
	}
}

// seedInbox links a Telegram bot and writes three answered conversations (the inbox view), a
// tag and a status; it answers what the browser script needs.
func seedInbox(t *testing.T, a api) map[string]any {
	t.Helper()
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_TELEGRAM, PlatformId: tgxBotID, Username: "shop_bot", DisplayName: "Shop bot",
		Credentials: map[string]string{"bot_token": tgToken, "webhook_secret": tgxWebhookSecret}}).AccountLink
	people := []*v1.Participant{
		{PlatformId: "5001", Username: "ana_lima", DisplayName: "Ana Lima"},
		{PlatformId: "5002", Username: "bruno", DisplayName: "Bruno Costa"},
		{PlatformId: "5003", Username: "chloe_m", DisplayName: "Chloé Martin"},
	}
	texts := [][2]string{
		{"Hi! Is the blue jacket still in stock in size M?", "It is! Want me to put one aside for you?"},
		{"My order #1042 has not arrived yet", "Sorry about that, checking with the carrier now."},
		{"Can I pay on delivery?", "Yes, cash or card on delivery both work."},
	}
	now := time.Now().Add(-3 * time.Hour)
	for i, p := range people {
		for j, text := range texts[i] {
			dir := v1.Direction_DIRECTION_INBOUND
			if j == 1 {
				dir = v1.Direction_DIRECTION_OUTBOUND
			}
			call[v1.IngestMessageResponse](a, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{
				AccountLinkId: link.Id, PlatformMessageId: fmt.Sprintf("seed-%d-%d", i, j), Direction: dir, Participant: p,
				Text: text, SentAt: timestamppb.New(now.Add(time.Duration(i*30+j*5) * time.Minute))})
		}
	}
	call[v1.CreateTagResponse](a, "/switchboard.v1.TeamService/CreateTag", &v1.CreateTagRequest{Name: "vip", Color: "#7c3aed"})
	call[v1.CreateStatusResponse](a, "/switchboard.v1.TeamService/CreateStatus", &v1.CreateStatusRequest{Name: "Qualified", Position: 1})
	var ana *v1.Thread
	// The list shows what the read model applied: wait for the three threads.
	deadline := time.Now().Add(30 * time.Second)
	for {
		inbox := a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_INBOX})
		if len(inbox) == 3 {
			for _, th := range inbox {
				if th.Prospect.GetPlatformId() == "5001" {
					ana = th
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the seeded threads never reached the inbox view")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return map[string]any{
		"accountLinkId": link.Id,
		"inbox":         []string{"Ana Lima", "Bruno Costa", "Chloé Martin"},
		"tag":           "vip",
		"status":        "Qualified",
		"live": map[string]any{"name": "Ana Lima", "prospectId": ana.GetProspect().GetId(),
			"participant": map[string]string{"platformId": "5001", "username": "ana_lima", "displayName": "Ana Lima"}},
	}
}
