package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

const testToken = "7000000001:AAE-secret-token_xyz"

// fakeBotAPI serves getUpdates with the Bot API's offset rule: an offset confirms (drops)
// every update below it.
type fakeBotAPI struct {
	mu      sync.Mutex
	updates []int64 // pending update ids, ascending
	reply   func(w http.ResponseWriter) bool
	queries []string
}

func (f *fakeBotAPI) add(ids ...int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, ids...)
}

func (f *fakeBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.URL.RawQuery)
	if f.reply != nil && f.reply(w) {
		return
	}
	if r.URL.Path != "/bot"+testToken+"/getUpdates" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}
	q := r.URL.Query()
	if q.Get("timeout") == "" || q.Get("timeout") == "0" {
		http.Error(w, "the poller must long-poll", http.StatusBadRequest)
		return
	}
	if off, err := strconv.ParseInt(q.Get("offset"), 10, 64); err == nil {
		kept := f.updates[:0]
		for _, id := range f.updates {
			if id >= off {
				kept = append(kept, id)
			}
		}
		f.updates = kept
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	var parts []string
	for i, id := range f.updates {
		if i == limit {
			break
		}
		parts = append(parts, fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1700000000,"text":"m%d"}}`,
			id, id, hirrolot, dmChat, id))
	}
	fmt.Fprintf(w, `{"ok":true,"result":[%s]}`, strings.Join(parts, ","))
}

func pollOnce(t *testing.T, p platforms.Poller, cursor string) (platforms.PollResult, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.Poll(ctx, testLink, map[string]string{CredBotToken: testToken}, cursor)
	if err != nil {
		t.Fatalf("poll from %q: %v", cursor, err)
	}
	var ids []string
	for _, it := range res.Items {
		ids = append(ids, it.(domain.PlatformMessage).PlatformMessageID)
	}
	return res, ids
}

func TestPollCursor(t *testing.T) {
	api := &fakeBotAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	urls := platforms.BaseURLs{"telegram": srv.URL}
	api.add(10, 11, 12)

	p := NewPoller(urls, srv.Client())
	if p.Platform() != domain.PlatformTelegram {
		t.Fatal(p.Platform())
	}
	res, ids := pollOnce(t, p, "")
	if strings.Join(ids, ",") != "408258968:10,408258968:11,408258968:12" || res.Cursor != "13" || res.More {
		t.Fatalf("first poll: %v, cursor %q, more %v", ids, res.Cursor, res.More)
	}
	// Nothing new: the cursor stays.
	if res, ids = pollOnce(t, p, "13"); len(ids) != 0 || res.Cursor != "13" {
		t.Fatalf("idle poll: %v, cursor %q", ids, res.Cursor)
	}

	// A restart (a new poller, the stored cursor) sees what came since: no repeat, no gap.
	api.add(13, 14)
	p = NewPoller(urls, srv.Client())
	if res, ids = pollOnce(t, p, "13"); strings.Join(ids, ",") != "408258968:13,408258968:14" || res.Cursor != "15" {
		t.Fatalf("after restart: %v, cursor %q", ids, res.Cursor)
	}

	// A backlog larger than a page asks for the next poll at once.
	var many []int64
	for id := int64(15); id < 15+pageSize+1; id++ {
		many = append(many, id)
	}
	api.add(many...)
	res, ids = pollOnce(t, p, "15")
	if len(ids) != pageSize || !res.More || res.Cursor != strconv.Itoa(15+pageSize) {
		t.Fatalf("backlog: %d items, more %v, cursor %q", len(ids), res.More, res.Cursor)
	}
	if res, ids = pollOnce(t, p, res.Cursor); len(ids) != 1 || res.More || res.Cursor != strconv.Itoa(16+pageSize) {
		t.Fatalf("rest of the backlog: %v, more %v, cursor %q", ids, res.More, res.Cursor)
	}
	if !strings.Contains(api.queries[len(api.queries)-1], "offset="+strconv.Itoa(15+pageSize)) {
		t.Errorf("offset not sent: %s", api.queries[len(api.queries)-1])
	}
}

func TestPollErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		header map[string]string
		check  func(error) bool
	}{
		{"401: AuthError", 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`, nil,
			func(err error) bool { _, ok := platforms.IsAuth(err); return ok }},
		{"404 (malformed token): AuthError", 404, `{"ok":false,"error_code":404,"description":"Not Found"}`, nil,
			func(err error) bool { _, ok := platforms.IsAuth(err); return ok }},
		{"429 with retry_after", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`, nil,
			func(err error) bool { r, ok := platforms.IsRetryAfter(err); return ok && r.After == 7*time.Second }},
		{"429 with only Retry-After", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests"}`, map[string]string{"Retry-After": "3"},
			func(err error) bool { r, ok := platforms.IsRetryAfter(err); return ok && r.After == 3*time.Second }},
		{"409: a webhook is set", 409, `{"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}`, nil,
			func(err error) bool { return errors.Is(err, ErrWebhookSet) }},
		{"500: a plain error", 500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`, nil,
			func(err error) bool {
				_, auth := platforms.IsAuth(err)
				_, retry := platforms.IsRetryAfter(err)
				return !auth && !retry
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := &fakeBotAPI{reply: func(w http.ResponseWriter) bool {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				fmt.Fprint(w, c.body)
				return true
			}}
			srv := httptest.NewServer(api)
			defer srv.Close()
			_, err := NewPoller(platforms.BaseURLs{"telegram": srv.URL}, srv.Client()).Poll(context.Background(), testLink,
				map[string]string{CredBotToken: testToken}, "")
			if err == nil || !c.check(err) {
				t.Fatalf("error %v (%T)", err, err)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("the error carries the token: %v", err)
			}
		})
	}
}

func TestPollNeverLeaksTheToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens: a transport error, whose text would hold the URL
	p := NewPoller(platforms.BaseURLs{"telegram": base}, &http.Client{Timeout: time.Second})
	_, err := p.Poll(context.Background(), testLink, map[string]string{CredBotToken: testToken}, "")
	if err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "AAE-secret") {
		t.Fatalf("transport error: %v", err)
	}
	if _, err := p.Poll(context.Background(), testLink, map[string]string{}, ""); err == nil {
		t.Fatal("no token: no error")
	} else if _, ok := platforms.IsAuth(err); !ok {
		t.Fatalf("no token: %v, want AuthError", err)
	}
	if lim, burst := p.Limit(); lim <= 0 || burst < 1 {
		t.Fatalf("limit %v/%d", lim, burst)
	}
}

// An update the adapter cannot read is kept raw and passed: stopping at it would stop the
// cursor there forever.
func TestPollKeepsUnreadableUpdates(t *testing.T) {
	res := pollResult(botResponse{OK: true, Result: []json.RawMessage{
		json.RawMessage(`{"update_id":41,"message":{"text":"no chat"}}`),
		json.RawMessage(`{"update_id":42,"message":{"message_id":9,"from":` + hirrolot + `,"chat":` + dmChat + `,"date":1700000000,"text":"ok"}}`),
	}}, testLink, "41")
	if len(res.Items) != 2 || res.Cursor != "43" {
		t.Fatalf("%+v", res)
	}
	if o, ok := res.Items[0].(domain.PlatformOther); !ok || o.Kind != "malformed_update" {
		t.Fatalf("first item %#v", res.Items[0])
	}
}
