package x

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

var (
	pollLink   = platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: "1111111111111111111"}
	oauthCreds = map[string]string{CredConsumerKey: "ck", CredConsumerSecret: "cs-secret", CredAccessToken: "1111111111111111111-at",
		CredAccessTokenSecret: "ats-secret"}
)

// fakeX serves GET /2/dm_events like X: newest first, pageSize a page, a next_token while
// older events remain. It checks each request's OAuth 1.0a signature.
type fakeX struct {
	mu       sync.Mutex
	ids      []int64 // every event, ascending
	pageSize int
	reply    func(w http.ResponseWriter, r *http.Request) bool
	tokens   []string
}

func (f *fakeX) add(ids ...int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, ids...)
}

func (f *fakeX) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reply != nil && f.reply(w, r) {
		return
	}
	if r.URL.Path != dmEventsPath || !strings.Contains(r.URL.Query().Get("dm_event.fields"), "sender_id") {
		http.Error(w, `{"title":"Invalid Request"}`, http.StatusBadRequest)
		return
	}
	if !f.signed(r) {
		http.Error(w, `{"title":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	tok := r.URL.Query().Get("pagination_token")
	f.tokens = append(f.tokens, tok)
	before := int64(1) << 62
	if tok != "" {
		// X's tokens point below an event, so they hold while newer events arrive.
		b, err := strconv.ParseInt(strings.TrimPrefix(tok, "before-"), 10, 64)
		if err != nil || !strings.HasPrefix(tok, "before-") {
			http.Error(w, `{"title":"Invalid Request","detail":"The pagination_token query parameter value is not valid"}`, http.StatusBadRequest)
			return
		}
		before = b
	}
	var page []string
	next := ""
	for i := len(f.ids) - 1; i >= 0; i-- {
		id := f.ids[i]
		if id >= before {
			continue
		}
		if len(page) == f.pageSize {
			next = fmt.Sprintf(`,"next_token":"before-%d"`, f.ids[i+1])
			break
		}
		page = append(page, fmt.Sprintf(`{"id":"%d","event_type":"MessageCreate","text":"m%d","sender_id":"944480690",`+
			`"dm_conversation_id":"944480690-1111111111111111111","created_at":"2026-01-01T00:00:%02d.000Z"}`, id, id, id%60))
	}
	fmt.Fprintf(w, `{"data":[%s],"includes":{"users":[{"id":"944480690","name":"Ana","username":"ana"}]},"meta":{"result_count":%d%s}}`,
		strings.Join(page, ","), len(page), next)
}

// signed checks the request's OAuth 1.0a header against its query.
func (f *fakeX) signed(r *http.Request) bool {
	h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	if !ok {
		return r.Header.Get("Authorization") == "Bearer user-context-token"
	}
	params := r.URL.Query()
	for _, part := range strings.Split(h, ", ") {
		k, v, _ := strings.Cut(part, "=")
		v, _ = url.PathUnescape(strings.Trim(v, `"`))
		params.Set(k, v)
	}
	if params.Get("oauth_consumer_key") != "ck" || params.Get("oauth_token") != "1111111111111111111-at" {
		return false
	}
	return params.Get("oauth_signature") == oauth1Signature(r.Method, "http://"+r.Host+r.URL.Path, params, "cs-secret", "ats-secret")
}

func poll(t *testing.T, p platforms.Poller, creds map[string]string, cursor string) (platforms.PollResult, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.Poll(ctx, pollLink, creds, cursor)
	if err != nil {
		t.Fatalf("poll from %q: %v", cursor, err)
	}
	var ids []string
	for _, it := range res.Items {
		m := it.(domain.PlatformMessage)
		if m.Direction != domain.Inbound || m.Prospect.Username != "ana" || m.ConversationID != "944480690-1111111111111111111" {
			t.Fatalf("item %+v", m)
		}
		ids = append(ids, m.PlatformMessageID)
	}
	return res, ids
}

func TestPollCatchUp(t *testing.T) {
	api := &fakeX{pageSize: 2}
	srv := httptest.NewServer(api)
	defer srv.Close()
	urls := platforms.BaseURLs{"x": srv.URL}
	p := NewPoller(urls, srv.Client())
	if p.Platform() != domain.PlatformX {
		t.Fatal(p.Platform())
	}
	seen := map[string]int{}
	record := func(ids []string) {
		for _, id := range ids {
			seen[id]++
		}
	}

	// A new link records the newest page, oldest first.
	api.add(101, 102, 103)
	res, ids := poll(t, p, oauthCreds, "")
	if strings.Join(ids, ",") != "102,103" || res.Cursor != "w=103" || res.More {
		t.Fatalf("first poll: %v, cursor %q, more %v", ids, res.Cursor, res.More)
	}
	record(ids)

	// Five new events: more than a page. Each poll is one page, and asks for the next at once.
	api.add(104, 105, 106, 107, 108)
	res, ids = poll(t, p, oauthCreds, res.Cursor)
	if strings.Join(ids, ",") != "107,108" || !res.More {
		t.Fatalf("catch-up page 1: %v, cursor %q, more %v", ids, res.Cursor, res.More)
	}
	record(ids)
	// New events while catching up wait for the next round, and break nothing.
	api.add(109)

	// A restart (a new poller, the stored cursor) goes on where it was.
	p = NewPoller(urls, srv.Client())
	res, ids = poll(t, p, map[string]string{CredBearerToken: "user-context-token"}, res.Cursor)
	if strings.Join(ids, ",") != "105,106" || !res.More {
		t.Fatalf("catch-up page 2: %v, cursor %q, more %v", ids, res.Cursor, res.More)
	}
	record(ids)
	res, ids = poll(t, p, oauthCreds, res.Cursor)
	if strings.Join(ids, ",") != "104" || res.More || res.Cursor != "w=108" {
		t.Fatalf("catch-up page 3: %v, cursor %q, more %v", ids, res.Cursor, res.More)
	}
	record(ids)
	res, ids = poll(t, p, oauthCreds, res.Cursor)
	if strings.Join(ids, ",") != "109" || res.More || res.Cursor != "w=109" {
		t.Fatalf("next round: %v, cursor %q", ids, res.Cursor)
	}
	record(ids)
	// Idle: nothing, the cursor stays.
	if res, ids = poll(t, p, oauthCreds, res.Cursor); len(ids) != 0 || res.Cursor != "w=109" || res.More {
		t.Fatalf("idle: %v, cursor %q", ids, res.Cursor)
	}
	var got []string
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s recorded %d times", id, n)
		}
		got = append(got, id)
	}
	slices.Sort(got)
	if strings.Join(got, ",") != "102,103,104,105,106,107,108,109" {
		t.Errorf("recorded %v: a gap", got)
	}

	// A page token X no longer takes restarts the catch-up from the top, watermark kept.
	res, ids = poll(t, p, oauthCreds, "w=105&t=109&p=expired")
	if len(ids) != 0 || !res.More || res.Cursor != "w=105" {
		t.Fatalf("expired token: %v, cursor %q, more %v", ids, res.Cursor, res.More)
	}
	if _, err := p.Poll(context.Background(), pollLink, oauthCreds, "garbage=%zz"); err == nil {
		t.Error("a foreign cursor: no error")
	}
}

func TestPollErrors(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		status int
		header map[string]string
		creds  map[string]string
		check  func(error) bool
	}{
		{"401: AuthError", 401, nil, oauthCreds, func(err error) bool { _, ok := platforms.IsAuth(err); return ok }},
		{"403 (app-only token, missing scope): AuthError", 403, nil, map[string]string{CredBearerToken: "app-only"},
			func(err error) bool { _, ok := platforms.IsAuth(err); return ok }},
		{"429 until x-rate-limit-reset", 429, map[string]string{"x-rate-limit-reset": strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10)}, oauthCreds,
			func(err error) bool { r, ok := platforms.IsRetryAfter(err); return ok && r.After == 2*time.Minute }},
		{"429 without headers: a whole window", 429, nil, oauthCreds,
			func(err error) bool { r, ok := platforms.IsRetryAfter(err); return ok && r.After == rateWindow }},
		{"no credentials: AuthError", 0, nil, map[string]string{CredConsumerKey: "ck"},
			func(err error) bool { _, ok := platforms.IsAuth(err); return ok }},
		{"503: a plain error", 503, nil, oauthCreds, func(err error) bool {
			_, auth := platforms.IsAuth(err)
			_, retry := platforms.IsRetryAfter(err)
			return !auth && !retry
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := &fakeX{pageSize: 2, reply: func(w http.ResponseWriter, r *http.Request) bool {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				fmt.Fprint(w, `{"title":"refused","detail":"refused","type":"about:blank"}`)
				return true
			}}
			srv := httptest.NewServer(api)
			defer srv.Close()
			p := NewPoller(platforms.BaseURLs{"x": srv.URL}, srv.Client()).(*poller)
			p.now = func() time.Time { return now }
			_, err := p.Poll(context.Background(), pollLink, c.creds, "w=100")
			if err == nil || !c.check(err) {
				t.Fatalf("error %v (%T)", err, err)
			}
			for _, secret := range []string{"cs-secret", "ats-secret", "app-only", "1111111111111111111-at"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error carries a credential: %v", err)
				}
			}
		})
	}
	lim, burst := NewPoller(nil, nil).Limit()
	if burst != 1 || time.Duration(float64(time.Second)/float64(lim)) != time.Minute {
		t.Errorf("limit %v/%d, want 15 per 15 minutes", lim, burst)
	}
}

// The signer matches the published vectors: RFC 5849 section 1.2 and X's "Creating a
// signature" walkthrough.
func TestOAuth1Signature(t *testing.T) {
	rfc := url.Values{"file": {"vacation.jpg"}, "size": {"original"}, "oauth_consumer_key": {"dpf43f3p2l4k3l03"},
		"oauth_token": {"nnch734d00sl2jdk"}, "oauth_signature_method": {"HMAC-SHA1"}, "oauth_timestamp": {"137131202"}, "oauth_nonce": {"chapoH"}}
	if got := oauth1Signature("GET", "http://photos.example.net/photos", rfc, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00"); got != "MdpQcU8iPSUjWoN/UDMsK2sui9I=" {
		t.Errorf("RFC 5849: %s", got)
	}
	xdoc := url.Values{"status": {"Hello Ladies + Gentlemen, a signed OAuth request!"}, "include_entities": {"true"},
		"oauth_consumer_key": {"xvz1evFS4wEEPTGEFPHBog"}, "oauth_nonce": {"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"},
		"oauth_signature_method": {"HMAC-SHA1"}, "oauth_timestamp": {"1318622958"},
		"oauth_token": {"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"}, "oauth_version": {"1.0"}}
	if got := oauth1Signature("POST", "https://api.twitter.com:443/1.1/statuses/update.json", xdoc,
		"kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw", "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"); got != "hCtSmYh+iHYCEqBWrE7C7hYmtUk=" {
		t.Errorf("X's walkthrough: %s", got)
	}
	h := oauth1Header("GET", "https://api.x.com/2/dm_events", url.Values{"max_results": {"100"}}, "ck", "cs", "tok", "ts", "1700000000", "n1")
	if !strings.HasPrefix(h, `OAuth oauth_consumer_key="ck", oauth_nonce="n1", oauth_signature="`) || strings.Contains(h, `"cs"`) ||
		strings.Contains(h, "max_results") || !strings.Contains(h, `oauth_version="1.0"`) {
		t.Errorf("header %s", h)
	}
}
