package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	"github.com/switchboard-oss/switchboard/projections"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

const (
	profilePage   = "104998425423731"
	profileToken  = "EAAPageAccessTokenForProfiles0123"
	profileSecret = "messenger-app-secret"
)

// graphProfiles is a fake Graph API: the Messenger User Profile endpoint, counting requests
// per PSID and refusing any other token than the linked one.
type graphProfiles struct {
	mu   sync.Mutex
	hits map[string]int
	bad  []string
}

func (g *graphProfiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	psid := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	g.mu.Lock()
	g.hits[psid]++
	if r.Header.Get("Authorization") != "Bearer "+profileToken || r.URL.Query().Get("fields") != "first_name,last_name,profile_pic" {
		g.bad = append(g.bad, r.URL.String())
	}
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"first_name":"Peter","last_name":"Chang %s","profile_pic":"https://platform-lookaside.example/%s.jpg","id":"%s"}`, psid, psid, psid)
}

func (g *graphProfiles) count(psid string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hits[psid]
}

// TestProspectProfileFetched: Messenger webhooks name the sender by PSID only; the server
// fetches the name and avatar from the Graph API once per prospect and shows them on the thread.
func TestProspectProfileFetched(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			graph := &graphProfiles{hits: map[string]int{}}
			gs := httptest.NewServer(graph)
			t.Cleanup(gs.Close)
			s := startWithGraph(t, b.name, gs.URL)
			a := api{t, newConnectClient(s.Addr), adminKey}
			link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
				Platform: v1.Platform_PLATFORM_MESSENGER, PlatformId: profilePage, DisplayName: "Test Page",
				Credentials: map[string]string{"app_secret": profileSecret, "access_token": profileToken, "verify_token": "vt"},
			}).AccountLink
			evs := call[v1.ListEventsResponse](a, "/switchboard.v1.EventService/ListEvents",
				&v1.ListEventsRequest{Types: []string{domain.TypeAccountLinked}, PageSize: 10}).Events
			if len(evs) == 0 {
				t.Fatal("no account.linked event")
			}
			teamID := evs[0].Key

			// Two messages of one PSID: one Graph request, the name and avatar on the thread.
			check := func(t *testing.T, psid string, send func(mid string)) {
				before := profileResults(t, s.Addr)
				send("m_" + psid + "_1")
				send("m_" + psid + "_2")
				threadID := domain.ThreadID(teamID, domain.PlatformMessenger, link.Id, psid)
				var th *v1.Thread
				waitFor(t, "the fetched profile on the thread", func() bool {
					res := &v1.GetThreadResponse{}
					if a.try("/switchboard.v1.ThreadService/GetThread", &v1.GetThreadRequest{ThreadId: threadID}, res) != nil {
						return false
					}
					th = res.Thread
					// A webhook is acknowledged once durable, before the read model applies it:
					// wait for both messages as well as the profile.
					return th.Prospect != nil && th.Prospect.DisplayName != "" && th.MessageCount >= 2
				})
				if p := th.Prospect; p.DisplayName != "Peter Chang "+psid || p.AvatarUrl != "https://platform-lookaside.example/"+psid+".jpg" ||
					p.PlatformId != psid {
					t.Errorf("prospect %+v", p)
				}
				if th.MessageCount != 2 {
					t.Errorf("thread has %d messages", th.MessageCount)
				}
				// Both messages went through the reaction before the requests are counted.
				waitFor(t, "the reaction to both messages", func() bool { return profileResults(t, s.Addr) >= before+2 })
				if n := graph.count(psid); n != 1 {
					t.Errorf("Graph saw %d requests for %s, want 1", n, psid)
				}
				graph.mu.Lock()
				defer graph.mu.Unlock()
				if len(graph.bad) > 0 {
					t.Errorf("requests without the linked token or fields: %v", graph.bad)
				}
			}

			t.Run("signed webhook", func(t *testing.T) {
				check(t, "7001234567890123", func(mid string) {
					body := messengerText(profilePage, "7001234567890123", mid)
					code, text := postWebhook(t, s.Addr, link.WebhookPath, body, profileSecret)
					if code == http.StatusNotFound && strings.Contains(text, "unknown platform") {
						t.Skip("the Messenger webhook adapter is not wired in server/platforms.go yet (messenger.NewWebhook)")
					}
					if code != http.StatusOK {
						t.Fatalf("webhook: %d %s", code, text)
					}
				})
			})

			// What the webhook endpoint records once it has parsed a body: runs whether or not
			// the Messenger adapter is wired.
			t.Run("as the webhook endpoint records", func(t *testing.T) {
				recv := commands.NewReceivePlatformHandler(commands.Deps{Log: s.EventLog()})
				pl := projections.AccountLink{ID: link.Id, TeamID: teamID, Platform: "messenger", PlatformID: profilePage}
				check(t, "7009876543210987", func(mid string) {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					_, err := recv.Handle(ctx, commands.ReceivePlatform{Link: pl, Origin: domain.OriginWebhook, RawContentType: "application/json",
						Items: []domain.PlatformItem{domain.PlatformMessage{PlatformMessageID: mid, Direction: domain.Inbound,
							Prospect: domain.Participant{PlatformID: "7009876543210987"}, Text: "hello, world!", SentAt: time.Now()}}})
					if err != nil {
						t.Fatal(err)
					}
				})
			})
		})
	}
}

// startWithGraph starts a server of the backend with Messenger's Graph API at graphURL.
func startWithGraph(t *testing.T, backendName, graphURL string) *server.Server {
	t.Helper()
	cfg := server.Config{DataDir: t.TempDir(), PlatformBaseURLs: platforms.BaseURLs{"messenger": graphURL}}
	if backendName != "embedded" {
		// As startScaleServer does.
		cfg.PostgresURL = testenv.PostgresSchema(t)
		_, brokers := testenv.Kafka(t)
		cfg.Kafka = scaleKafka(brokers)
	}
	return startServerWith(t, cfg)
}

// messengerText is a Messenger webhook body (object "page") with one text message from psid,
// in the shape of Meta's "Text message" example.
func messengerText(page, psid, mid string) []byte {
	ms := time.Now().UnixMilli()
	return []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":"%s","time":%d,"messaging":[{"sender":{"id":"%s"},`+
		`"recipient":{"id":"%s"},"timestamp":%d,"message":{"mid":"%s","text":"hello, world!"}}]}]}`, page, ms, psid, page, ms, mid))
}

// postWebhook POSTs body signed as Meta signs it: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256.
func postWebhook(t *testing.T, addr, path string, body []byte, appSecret string) (int, string) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// profileResults sums switchboard_profile_fetches_total for Messenger: how many messages the
// reaction has dealt with, whatever the outcome.
func profileResults(t *testing.T, addr string) float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "switchboard_profile_fetches_total{") || !strings.Contains(line, `platform="messenger"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			total += v
		}
	}
	return total
}
