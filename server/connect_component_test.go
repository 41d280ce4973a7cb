package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	linking "github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit/reddittest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// The connect tests run the real server behind a "public URL" (a proxy standing for the
// deployment's address), fake platforms speaking the platforms' request and response shapes,
// and a browser (an http.Client following redirects) that lands on the return URL.

// connectEnv is one server with its public address, its logs and a page to return to.
type connectEnv struct {
	s       *server.Server
	a       api
	public  string
	logs    *syncBuffer
	landed  chan url.Values // the return URL's query, each time a browser lands there
	returns string
	cfg     server.Config
}

// another starts a second process of the same deployment (shared engines, same public URL,
// same log sink): an API and ingest process.
func (e *connectEnv) another(t *testing.T) *server.Server {
	t.Helper()
	cfg := e.cfg
	cfg.DataDir, cfg.Roles = t.TempDir(), []string{"api", "ingest"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, cfg, slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("start the second process: %v", err)
	}
	t.Cleanup(func() { stopServer(t, s) })
	return s
}

func startConnectEnv(t *testing.T, cfg server.Config) *connectEnv {
	t.Helper()
	var target atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := url.Parse("http://" + target.Load().(string))
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	env := &connectEnv{public: proxy.URL, logs: &syncBuffer{}, landed: make(chan url.Values, 10)}
	ret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.landed <- r.URL.Query()
		_, _ = io.WriteString(w, "back in the app")
	}))
	t.Cleanup(ret.Close)
	env.returns = ret.URL + "/settings/accounts?tab=connected"

	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.Connect.PublicURL = proxy.URL
	cfg.Connect.RefreshInterval = 50 * time.Millisecond
	cfg.PollInterval = 100 * time.Millisecond
	cfg.BootstrapKey, cfg.Listen, cfg.ShutdownTimeout = adminKey, "127.0.0.1:0", 5*time.Second
	cfg.Roles = []string{"api", "ingest", "projector"}
	logger := slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { stopServer(t, s) })
	target.Store(s.Addr)
	env.cfg = cfg
	env.s = s
	env.a = api{t, newConnectClient(s.Addr), adminKey}
	return env
}

// start calls StartConnect and checks what it answered.
func (e *connectEnv) start(p v1.Platform) *v1.StartConnectResponse {
	e.a.t.Helper()
	res := call[v1.StartConnectResponse](e.a, "/switchboard.v1.AccountService/StartConnect",
		&v1.StartConnectRequest{Platform: p, ReturnUrl: e.returns})
	if res.AuthorizeUrl == "" || len(res.State) < 40 {
		e.a.t.Fatalf("StartConnect: %+v", res)
	}
	return res
}

// browser is a client that follows redirects and names itself as browsers do.
var browser = &http.Client{Transport: uaTransport{}, Timeout: 30 * time.Second}

type uaTransport struct{}

func (uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "Mozilla/5.0 (test browser)")
	return http.DefaultTransport.RoundTrip(r)
}

// browse opens a URL as a browser does, following every redirect, and returns the query the
// return page got.
func (e *connectEnv) browse(u string) url.Values {
	e.a.t.Helper()
	res, err := browser.Get(u)
	if err != nil {
		e.a.t.Fatalf("browse: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	select {
	case q := <-e.landed:
		if q.Get("tab") != "connected" {
			e.a.t.Fatalf("the return URL lost its own query: %v", q)
		}
		return q
	default:
		e.a.t.Fatalf("the browser did not land on the return URL: %d %s\nlogs:\n%s", res.StatusCode, body, e.logs.String())
		return nil
	}
}

// callback opens the callback directly (a replayed or forged redirect) and returns its status.
func (e *connectEnv) callback(flow string, q url.Values) int {
	e.a.t.Helper()
	res, err := browser.Get(e.public + "/oauth/callback/" + flow + "?" + q.Encode())
	if err != nil {
		e.a.t.Fatalf("callback: %v", err)
	}
	res.Body.Close()
	select {
	case q := <-e.landed:
		e.a.t.Fatalf("a refused callback redirected to the return URL: %v", q)
	default:
	}
	return res.StatusCode
}

func (e *connectEnv) links() map[string]*v1.AccountLink {
	out := map[string]*v1.AccountLink{}
	for _, l := range call[v1.ListAccountLinksResponse](e.a, "/switchboard.v1.AccountService/ListAccountLinks", &v1.ListAccountLinksRequest{}).AccountLinks {
		out[l.Id] = l
	}
	return out
}

// waitLink waits until the link satisfies ok.
func (e *connectEnv) waitLink(id string, what string, ok func(*v1.AccountLink) bool) *v1.AccountLink {
	e.a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l := e.links()[id]
		if l != nil && ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			e.a.t.Fatalf("link %s never %s: %+v", id, what, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *connectEnv) countEvents(typ string) int {
	n := 0
	for _, ev := range e.a.events() {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func (e *connectEnv) waitEvents(typ string, n int) {
	e.a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for e.countEvents(typ) < n {
		if time.Now().After(deadline) {
			e.a.t.Fatalf("never %d %s events (have %d)", n, typ, e.countEvents(typ))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noSecrets checks that no secret appears in any event, log line or metric.
func (e *connectEnv) noSecrets(secrets ...string) {
	e.a.t.Helper()
	var events bytes.Buffer
	for _, ev := range e.a.events() {
		b, _ := json.Marshal(ev)
		events.Write(b)
	}
	res, err := http.Get("http://" + e.s.Addr + "/metrics")
	if err != nil {
		e.a.t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, sec := range secrets {
		for what, text := range map[string]string{"an event": events.String(), "a log line": e.logs.String(), "a metric": string(metrics)} {
			if strings.Contains(text, sec) {
				e.a.t.Errorf("secret %q found in %s", sec, what)
			}
		}
	}
}

// fake is a fake platform: handlers by path, and every request it got.
type fake struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []fakeReq
}

type fakeReq struct {
	Method, Path string
	Query, Form  url.Values
	Header       http.Header
	Body         string
}

func newFake(t *testing.T, routes map[string]func(w http.ResponseWriter, r *http.Request, req fakeReq)) *fake {
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		req := fakeReq{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Form: form, Header: r.Header.Clone(), Body: string(body)}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		if h, ok := routes[r.URL.Path]; ok {
			h(w, r, req)
			return
		}
		for prefix, h := range routes { // then "prefix*" routes (one per fake)
			if strings.HasSuffix(prefix, "*") && strings.HasPrefix(r.URL.Path, strings.TrimSuffix(prefix, "*")) {
				h(w, r, req)
				return
			}
		}
		writeJSONStatus(w, http.StatusNotFound, map[string]any{"error": "not_found"})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) requests(path string) []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeReq
	for _, r := range f.reqs {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// approve is an authorization page that approves at once: back to redirect_uri with a code.
func approve(code string) func(w http.ResponseWriter, r *http.Request, req fakeReq) {
	return func(w http.ResponseWriter, r *http.Request, req fakeReq) {
		http.Redirect(w, r, req.Query.Get("redirect_uri")+"?state="+url.QueryEscape(req.Query.Get("state"))+"&code="+code, http.StatusFound)
	}
}

func basicAuth(h http.Header) (string, string) {
	r := &http.Request{Header: h}
	u, p, _ := r.BasicAuth()
	return u, p
}

// TestConnectReddit: the "done when" walk of the issue against a fake Reddit: StartConnect,
// the authorization page, the callback, back on the return URL, the account linked and polling.
// Then the refusals: a state used twice, a forged one, none at all.
func TestConnectReddit(t *testing.T) {
	t.Parallel()
	red := reddittest.New(t, polltest.FixtureDir(t, "reddit"))
	e := startConnectEnv(t, server.Config{PlatformBaseURLs: platforms.BaseURLs{"reddit": red.URL, "reddit-auth": red.URL},
		Connect: server.ConnectConfig{Reddit: connectApp(reddittest.ClientID, reddittest.ClientSecret)}})

	st := e.start(v1.Platform_PLATFORM_REDDIT)
	au, _ := url.Parse(st.AuthorizeUrl)
	if au.Path != "/api/v1/authorize" || au.Query().Get("duration") != "permanent" || au.Query().Get("scope") != "identity privatemessages" ||
		au.Query().Get("redirect_uri") != e.public+"/oauth/callback/reddit" || au.Query().Get("state") != st.State {
		t.Fatalf("authorize URL: %s", st.AuthorizeUrl)
	}
	q := e.browse(st.AuthorizeUrl)
	if q.Get("connect") != "ok" || !strings.HasPrefix(q.Get("account_link_ids"), "acc_") {
		t.Fatalf("return URL query: %v", q)
	}
	if red.Exchanges() != 1 {
		t.Fatalf("the fake saw %d code exchanges with basic auth and the redirect_uri, want 1", red.Exchanges())
	}
	id := q.Get("account_link_ids")
	l := e.waitLink(id, "linked", func(l *v1.AccountLink) bool { return l.Active })
	if l.Platform != v1.Platform_PLATFORM_REDDIT || l.PlatformId != reddittest.Username {
		t.Fatalf("link: %+v", l)
	}
	// Polling with the stored refresh token: the inbox's 44 threads arrive.
	pcWaitThreads(t, e.a, id, 44, 62)

	// The state is used up: the same redirect again links nothing.
	linked := e.countEvents("account.linked.v1")
	if code := e.callback("reddit", url.Values{"state": {st.State}, "code": {reddittest.Code}}); code != http.StatusBadRequest {
		t.Fatalf("reused state: HTTP %d", code)
	}
	if code := e.callback("reddit", url.Values{"state": {"forged-state-0123456789012345678901234567890"}, "code": {reddittest.Code}}); code != http.StatusBadRequest {
		t.Fatalf("forged state: HTTP %d", code)
	}
	if code := e.callback("reddit", url.Values{"code": {reddittest.Code}}); code != http.StatusBadRequest {
		t.Fatalf("missing state: HTTP %d", code)
	}
	// A state started for Reddit is no good on another flow's callback either.
	st2 := e.start(v1.Platform_PLATFORM_REDDIT)
	if code := e.callback("x", url.Values{"state": {st2.State}, "code": {"c"}}); code != http.StatusNotFound {
		t.Fatalf("unknown flow: HTTP %d", code)
	}
	if red.Exchanges() != 1 || e.countEvents("account.linked.v1") != linked {
		t.Fatalf("a refused callback exchanged a code or linked: %d exchanges, %d links", red.Exchanges(), e.countEvents("account.linked.v1"))
	}
	// The member said no on Reddit's page: back with the error, nothing linked.
	if q := e.browseDenied(st2.State); q.Get("connect") != "error" || q.Get("error") != "access_denied" {
		t.Fatalf("denied: %v", q)
	}

	// Bad input is named; a platform with no app configured is refused.
	wantCode(t, "no return_url", e.a.try("/switchboard.v1.AccountService/StartConnect",
		&v1.StartConnectRequest{Platform: v1.Platform_PLATFORM_REDDIT}, &v1.StartConnectResponse{}), connect.CodeInvalidArgument)
	wantCode(t, "relative return_url", e.a.try("/switchboard.v1.AccountService/StartConnect",
		&v1.StartConnectRequest{Platform: v1.Platform_PLATFORM_REDDIT, ReturnUrl: "/settings"}, &v1.StartConnectResponse{}), connect.CodeInvalidArgument)
	wantCode(t, "X not configured", e.a.try("/switchboard.v1.AccountService/StartConnect",
		&v1.StartConnectRequest{Platform: v1.Platform_PLATFORM_X, ReturnUrl: e.returns}, &v1.StartConnectResponse{}), connect.CodeFailedPrecondition)
	e.noSecrets(reddittest.ClientSecret, reddittest.RefreshToken, reddittest.Code, "token-1", st.State)
}

func (e *connectEnv) browseDenied(state string) url.Values {
	e.a.t.Helper()
	res, err := browser.Get(e.public + "/oauth/callback/reddit?" + url.Values{"state": {state}, "error": {"access_denied"}}.Encode())
	if err != nil {
		e.a.t.Fatal(err)
	}
	res.Body.Close()
	select {
	case q := <-e.landed:
		return q
	default:
		e.a.t.Fatalf("denied: HTTP %d, not redirected", res.StatusCode)
		return nil
	}
}

// xFake is a fake X: the authorization page, the token endpoint (code with PKCE, refresh with
// rotation) and users/me.
type xFake struct {
	*fake
	mu         sync.Mutex
	challenge  string
	verifiers  []string // the code_verifier of each exchange whose S256 matched the challenge
	refresh    string   // the refresh token currently valid
	revoked    bool
	exchangeIn int // expires_in of the code exchange's token
	seq        int
	// refreshDelay slows renewals down (nanoseconds).
	refreshDelay atomic.Int64
}

const (
	xClientID     = "x-client-id-1"
	xClientSecret = "x-client-secret-very-secret-1"
	xUserID       = "2244994945"
)

func newXFake(t *testing.T) *xFake {
	x := &xFake{exchangeIn: 7200}
	x.fake = newFake(t, map[string]func(http.ResponseWriter, *http.Request, fakeReq){
		"/i/oauth2/authorize": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			q := req.Query
			if q.Get("code_challenge_method") != "S256" || q.Get("client_id") != xClientID ||
				q.Get("scope") != "dm.read dm.write tweet.read users.read offline.access" {
				writeJSONStatus(w, 400, map[string]any{"error": "invalid_request"})
				return
			}
			x.mu.Lock()
			x.challenge = q.Get("code_challenge")
			x.mu.Unlock()
			approve("x-code-1")(w, r, req)
		},
		"/2/oauth2/token": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			if req.Form.Get("grant_type") == "refresh_token" {
				time.Sleep(time.Duration(x.refreshDelay.Load())) // a slow token endpoint: renewals overlap
			}
			x.mu.Lock()
			defer x.mu.Unlock()
			if u, p := basicAuth(req.Header); u != xClientID || p != xClientSecret {
				writeJSONStatus(w, 401, map[string]any{"error": "unauthorized_client"})
				return
			}
			expires := 7200
			switch req.Form.Get("grant_type") {
			case "authorization_code":
				sum := sha256.Sum256([]byte(req.Form.Get("code_verifier")))
				if req.Form.Get("code") != "x-code-1" || base64.RawURLEncoding.EncodeToString(sum[:]) != x.challenge {
					writeJSONStatus(w, 400, map[string]any{"error": "invalid_request", "error_description": "bad code or verifier"})
					return
				}
				x.verifiers = append(x.verifiers, req.Form.Get("code_verifier"))
				expires = x.exchangeIn
			case "refresh_token":
				if x.revoked || req.Form.Get("refresh_token") != x.refresh {
					writeJSONStatus(w, 400, map[string]any{"error": "invalid_request", "error_description": "Value passed for the token was invalid."})
					return
				}
			default:
				writeJSONStatus(w, 400, map[string]any{"error": "unsupported_grant_type"})
				return
			}
			x.seq++
			x.refresh = fmt.Sprintf("x-refresh-token-%d", x.seq)
			writeJSONStatus(w, 200, map[string]any{"token_type": "bearer", "expires_in": expires, "access_token": fmt.Sprintf("x-access-token-%d", x.seq),
				"scope": "dm.read dm.write tweet.read users.read offline.access", "refresh_token": x.refresh})
		},
		"/2/users/me": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			if !strings.HasPrefix(req.Header.Get("Authorization"), "Bearer x-access-token-") {
				writeJSONStatus(w, 401, map[string]any{"title": "Unauthorized"})
				return
			}
			writeJSONStatus(w, 200, map[string]any{"data": map[string]any{"id": xUserID, "name": "X Dev", "username": "XDevelopers"}})
		},
		"/2/dm_events": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			writeJSONStatus(w, 200, map[string]any{"meta": map[string]any{"result_count": 0}})
		},
	})
	return x
}

func (x *xFake) set(f func()) { x.mu.Lock(); defer x.mu.Unlock(); f() }

func (x *xFake) refreshes() int {
	n := 0
	for _, r := range x.requests("/2/oauth2/token") {
		if r.Form.Get("grant_type") == "refresh_token" {
			n++
		}
	}
	return n
}

// TestConnectX: OAuth 2.0 with PKCE, the token renewed before it expires (the rotated refresh
// token replacing the old one), a refused renewal marking the link for reconnecting, and a
// reconnect re-activating the same link.
func TestConnectX(t *testing.T) {
	t.Parallel()
	x := newXFake(t)
	x.exchangeIn = 600 // within the refresher's 30 minutes: renewed at once
	e := startConnectEnv(t, server.Config{PlatformBaseURLs: platforms.BaseURLs{"x": x.URL, "x-auth": x.URL},
		Connect: server.ConnectConfig{X: connectApp(xClientID, xClientSecret)}})

	st := e.start(v1.Platform_PLATFORM_X)
	au, _ := url.Parse(st.AuthorizeUrl)
	if au.Path != "/i/oauth2/authorize" || au.Query().Get("code_challenge") == "" || au.Query().Get("redirect_uri") != e.public+"/oauth/callback/x" {
		t.Fatalf("authorize URL: %s", st.AuthorizeUrl)
	}
	q := e.browse(st.AuthorizeUrl)
	if q.Get("connect") != "ok" {
		t.Fatalf("return URL query: %v", q)
	}
	x.set(func() {
		if len(x.verifiers) != 1 {
			t.Fatalf("the fake saw %d exchanges with a verifier matching the challenge", len(x.verifiers))
		}
	})
	id := q.Get("account_link_ids")
	l := e.waitLink(id, "linked", func(l *v1.AccountLink) bool { return l.Active })
	if l.Platform != v1.Platform_PLATFORM_X || l.PlatformId != xUserID || l.Username != "XDevelopers" {
		t.Fatalf("link: %+v", l)
	}
	// Renewed once (the new token lasts 2 hours), with the first refresh token; recorded.
	e.waitEvents("account.token_refreshed.v1", 1)
	toks := x.requests("/2/oauth2/token")
	if r := toks[len(toks)-1]; r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("refresh_token") != "x-refresh-token-1" {
		t.Fatalf("renewal request: %+v", r.Form)
	}
	var refreshed *v1.Event
	for _, ev := range e.a.events() {
		if ev.Type == "account.token_refreshed.v1" {
			refreshed = ev
		}
	}
	until, err := time.Parse(time.RFC3339, refreshed.Data.AsMap()["expires_at"].(string))
	if refreshed.Data.AsMap()["account_link_id"] != id || err != nil || time.Until(until) < 110*time.Minute {
		t.Fatalf("account.token_refreshed: %v", refreshed.Data.AsMap())
	}
	// Consent revoked: the next renewal is refused, the link needs reconnecting.
	x.set(func() { x.revoked, x.exchangeIn = true, 600 })
	e.browse(e.start(v1.Platform_PLATFORM_X).AuthorizeUrl) // reconnect with a short token
	sick := e.waitLink(id, "marked for reconnecting", func(l *v1.AccountLink) bool { return !l.Active })
	if !strings.Contains(sick.HealthReason, "reconnect needed") {
		t.Fatalf("health reason: %q", sick.HealthReason)
	}
	// Reconnecting restores the same link (same id, so the same threads).
	x.set(func() { x.revoked, x.exchangeIn = false, 7200 })
	q = e.browse(e.start(v1.Platform_PLATFORM_X).AuthorizeUrl)
	if q.Get("account_link_ids") != id {
		t.Fatalf("reconnect made another link: %v", q)
	}
	e.waitLink(id, "active again", func(l *v1.AccountLink) bool { return l.Active })
	if n := x.refreshes(); n != 2 { // the first renewal, the refused one
		t.Fatalf("%d renewals, want 2", n)
	}
	if n := e.countEvents("account.token_refreshed.v1"); n != 1 {
		t.Fatalf("%d token_refreshed events, want 1", n)
	}
	e.noSecrets(xClientSecret, "x-access-token-1", "x-access-token-2", "x-refresh-token-1", "x-refresh-token-2", "x-code-1")
}

// viaAddr is the same key through another process.
func (a api) viaAddr(addr string) api { return api{a.t, newConnectClient(addr), a.key} }

func connectApp(id, secret string) linking.App {
	return linking.App{ClientID: id, ClientSecret: secret}
}

const (
	connTGToken = "7000000001:AAE-connect-test-token-abcdefgh"
	connTGBotID = "7000000001"
)

// newTelegramFake answers getMe for connTGToken, and setWebhook (failing while *failSet is set) and
// deleteWebhook.
func newTelegramFake(t *testing.T, failSet *atomic.Bool) *fake {
	return newFake(t, map[string]func(http.ResponseWriter, *http.Request, fakeReq){
		"/bot*": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			token, method, _ := strings.Cut(strings.TrimPrefix(req.Path, "/bot"), "/")
			if token != connTGToken {
				writeJSONStatus(w, 401, map[string]any{"ok": false, "error_code": 401, "description": "Unauthorized"})
				return
			}
			switch method {
			case "getMe":
				writeJSONStatus(w, 200, map[string]any{"ok": true, "result": map[string]any{"id": 7000000001, "is_bot": true,
					"first_name": "Shop Bot", "username": "shop_bot"}})
			case "setWebhook":
				if failSet.Load() {
					writeJSONStatus(w, 400, map[string]any{"ok": false, "error_code": 400, "description": "Bad Request: bad webhook: HTTPS url must be provided for webhook"})
					return
				}
				writeJSONStatus(w, 200, map[string]any{"ok": true, "result": true, "description": "Webhook was set"})
			case "deleteWebhook":
				writeJSONStatus(w, 200, map[string]any{"ok": true, "result": true, "description": "Webhook was deleted"})
			default:
				writeJSONStatus(w, 404, map[string]any{"ok": false, "error_code": 404, "description": "Not Found"})
			}
		},
	})
}

// TestConnectTelegram: a bot linked from its token alone (StartConnect, or LinkAccount without
// a webhook secret): Switchboard verifies it with getMe, generates the secret, calls
// setWebhook with its public URL, and the updates Telegram then sends are accepted; unlinking
// calls deleteWebhook; a refused setWebhook leaves the link unhealthy with the reason.
func TestConnectTelegram(t *testing.T) {
	t.Parallel()
	var failSet atomic.Bool
	tg := newTelegramFake(t, &failSet)
	e := startConnectEnv(t, server.Config{PlatformBaseURLs: platforms.BaseURLs{"telegram": tg.URL}})

	res := call[v1.StartConnectResponse](e.a, "/switchboard.v1.AccountService/StartConnect", &v1.StartConnectRequest{
		Platform: v1.Platform_PLATFORM_TELEGRAM, Credentials: map[string]string{"bot_token": connTGToken}})
	if len(res.AccountLinks) != 1 || res.AuthorizeUrl != "" {
		t.Fatalf("StartConnect: %+v", res)
	}
	l := e.waitLink(res.AccountLinks[0].Id, "linked", func(l *v1.AccountLink) bool { return l.Active })
	if l.PlatformId != connTGBotID || l.Username != "shop_bot" || l.Platform != v1.Platform_PLATFORM_TELEGRAM {
		t.Fatalf("link: %+v", l)
	}
	sets := tg.requests("/bot" + connTGToken + "/setWebhook")
	if len(sets) != 1 {
		t.Fatalf("%d setWebhook calls", len(sets))
	}
	var set struct {
		URL, SecretToken string `json:"-"`
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(sets[0].Body), &body)
	set.URL, _ = body["url"].(string)
	set.SecretToken, _ = body["secret_token"].(string)
	if set.URL != e.public+l.WebhookPath || len(set.SecretToken) < 20 {
		t.Fatalf("setWebhook: %s (webhook path %s)", sets[0].Body, l.WebhookPath)
	}
	// Telegram's deliveries carry the secret it was given: accepted.
	update := []byte(`{"update_id":1,"message":{"message_id":5,"date":1764849600,"chat":{"id":6000000001,"type":"private"},` +
		`"from":{"id":6000000001,"is_bot":false,"first_name":"Ana"},"text":"hi"}}`)
	if code := tgxPost(t, e.s.Addr, l.WebhookPath, update, http.Header{"X-Telegram-Bot-Api-Secret-Token": {set.SecretToken}}); code != 200 {
		t.Fatalf("update with the registered secret: HTTP %d", code)
	}
	if code := tgxPost(t, e.s.Addr, l.WebhookPath, update, http.Header{"X-Telegram-Bot-Api-Secret-Token": {"wrong"}}); code != 401 {
		t.Fatalf("update with another secret: HTTP %d", code)
	}

	// A wrong token is refused before anything is linked.
	linked := e.countEvents("account.linked.v1")
	wantCode(t, "wrong bot token", e.a.try("/switchboard.v1.AccountService/StartConnect", &v1.StartConnectRequest{
		Platform: v1.Platform_PLATFORM_TELEGRAM, Credentials: map[string]string{"bot_token": "1:wrong-token-value-123456"}},
		&v1.StartConnectResponse{}), connect.CodeInvalidArgument)
	if e.countEvents("account.linked.v1") != linked {
		t.Fatal("a refused token was linked")
	}

	// Unlink: deleteWebhook.
	call[v1.UnlinkAccountResponse](e.a, "/switchboard.v1.AccountService/UnlinkAccount", &v1.UnlinkAccountRequest{AccountLinkId: l.Id})
	if n := len(tg.requests("/bot" + connTGToken + "/deleteWebhook")); n != 1 {
		t.Fatalf("%d deleteWebhook calls", n)
	}

	// LinkAccount with the token only (as before, by the API): the webhook is registered too;
	// when Telegram refuses it, the link is linked but unhealthy, with the reason.
	failSet.Store(true)
	lr := call[v1.LinkAccountResponse](e.a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_TELEGRAM, PlatformId: connTGBotID, Credentials: map[string]string{"bot_token": connTGToken}})
	if lr.AccountLink.Id != l.Id {
		t.Fatalf("relink made another link: %s", lr.AccountLink.Id)
	}
	sick := e.waitLink(l.Id, "unhealthy", func(l *v1.AccountLink) bool { return !l.Active })
	if !strings.Contains(sick.HealthReason, "webhook registration failed") || !strings.Contains(sick.HealthReason, "setWebhook") {
		t.Fatalf("health reason: %q", sick.HealthReason)
	}
	if n := len(tg.requests("/bot" + connTGToken + "/setWebhook")); n != 2 {
		t.Fatalf("%d setWebhook calls, want 2", n)
	}
	e.noSecrets(connTGToken, set.SecretToken)
}

// TestConnectBluesky: handle and app password verified with createSession, the session renewed
// with refreshSession before the access token expires.
func TestConnectBluesky(t *testing.T) {
	t.Parallel()
	const did, password = "did:plc:connecttest0001", "abcd-efgh-ijkl-mnop"
	var seq atomic.Int32
	jwt := func(kind string, ttl time.Duration) string {
		n := seq.Add(1)
		claims, _ := json.Marshal(map[string]any{"scope": "com.atproto.appPass", "sub": did, "exp": time.Now().Add(ttl).Unix()})
		return "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(claims) + fmt.Sprintf(".%s-signature-%d", kind, n)
	}
	var refresh atomic.Value
	pds := newFake(t, map[string]func(http.ResponseWriter, *http.Request, fakeReq){
		"/xrpc/com.atproto.server.createSession": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			var in struct{ Identifier, Password string }
			_ = json.Unmarshal([]byte(req.Body), &in)
			if in.Identifier != "shop.bsky.social" || in.Password != password {
				writeJSONStatus(w, 401, map[string]any{"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
				return
			}
			rt := jwt("refresh", 60*24*time.Hour)
			refresh.Store(rt)
			writeJSONStatus(w, 200, map[string]any{"did": did, "handle": "shop.bsky.social", "accessJwt": jwt("access", 10*time.Minute), "refreshJwt": rt, "active": true})
		},
		"/xrpc/com.atproto.server.refreshSession": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			if req.Header.Get("Authorization") != "Bearer "+refresh.Load().(string) {
				writeJSONStatus(w, 400, map[string]any{"error": "ExpiredToken", "message": "Token has expired"})
				return
			}
			rt := jwt("refresh", 60*24*time.Hour)
			refresh.Store(rt)
			writeJSONStatus(w, 200, map[string]any{"did": did, "handle": "shop.bsky.social", "accessJwt": jwt("access", 2*time.Hour), "refreshJwt": rt, "active": true})
		},
	})
	e := startConnectEnv(t, server.Config{PlatformBaseURLs: platforms.BaseURLs{"bluesky": pds.URL}})
	res := call[v1.StartConnectResponse](e.a, "/switchboard.v1.AccountService/StartConnect", &v1.StartConnectRequest{
		Platform: v1.Platform_PLATFORM_BLUESKY, Credentials: map[string]string{"identifier": "shop.bsky.social", "app_password": password}})
	if len(res.AccountLinks) != 1 {
		t.Fatalf("StartConnect: %+v", res)
	}
	l := e.waitLink(res.AccountLinks[0].Id, "linked", func(l *v1.AccountLink) bool { return l.Active })
	if l.PlatformId != did || l.Username != "shop.bsky.social" {
		t.Fatalf("link: %+v", l)
	}
	// The 10-minute access token is renewed once with the refresh token (the new one lasts 2h).
	e.waitEvents("account.token_refreshed.v1", 1)
	if n := len(pds.requests("/xrpc/com.atproto.server.refreshSession")); n != 1 {
		t.Fatalf("%d refreshSession calls, want 1", n)
	}
	wantCode(t, "wrong app password", e.a.try("/switchboard.v1.AccountService/StartConnect", &v1.StartConnectRequest{
		Platform: v1.Platform_PLATFORM_BLUESKY, Credentials: map[string]string{"identifier": "shop.bsky.social", "app_password": "wrong-pass-1234"}},
		&v1.StartConnectResponse{}), connect.CodeInvalidArgument)
	e.noSecrets(password, refresh.Load().(string))
}

const (
	connMetaAppID  = "123456789012345"
	connMetaSecret = "meta-app-secret-0123456789abcdef"
	pageToken1     = "EAAPageToken1xxxxxxxxxxxxxxxx"
	pageToken2     = "EAAPageToken2xxxxxxxxxxxxxxxx"
	metaUserLL     = "EAAUserLongLivedxxxxxxxxxxxxx"
)

// newMetaFake is Facebook Login and the Graph API for one member with two Pages (the second
// with an Instagram account) and one WhatsApp number.
func newMetaFake(t *testing.T) *fake {
	v := "/v25.0"
	return newFake(t, map[string]func(http.ResponseWriter, *http.Request, fakeReq){
		v + "/dialog/oauth": approve("meta-code-1"),
		v + "/oauth/access_token": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			q := req.Query
			switch {
			case q.Get("client_id") != connMetaAppID || q.Get("client_secret") != connMetaSecret:
				writeJSONStatus(w, 400, map[string]any{"error": map[string]any{"message": "Error validating client secret.", "type": "OAuthException", "code": 1}})
			case q.Get("code") == "meta-code-1" && q.Get("redirect_uri") != "":
				writeJSONStatus(w, 200, map[string]any{"access_token": "EAAUserShortLived", "token_type": "bearer", "expires_in": 5183})
			case q.Get("grant_type") == "fb_exchange_token" && q.Get("fb_exchange_token") == "EAAUserShortLived":
				writeJSONStatus(w, 200, map[string]any{"access_token": metaUserLL, "token_type": "bearer", "expires_in": 5183944})
			default:
				writeJSONStatus(w, 400, map[string]any{"error": map[string]any{"message": "Invalid verification code format.", "type": "OAuthException", "code": 100}})
			}
		},
		v + "/me/accounts": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			if req.Query.Get("access_token") != metaUserLL {
				writeJSONStatus(w, 400, map[string]any{"error": map[string]any{"code": 190}})
				return
			}
			writeJSONStatus(w, 200, map[string]any{"data": []any{
				map[string]any{"id": "100000000000001", "name": "Shop One", "access_token": pageToken1, "category": "Shopping"},
				map[string]any{"id": "100000000000002", "name": "Shop Two", "access_token": pageToken2,
					"instagram_business_account": map[string]any{"id": "17841400000000002", "username": "shoptwo"}},
			}, "paging": map[string]any{"cursors": map[string]any{"before": "a", "after": "b"}}})
		},
		v + "/me/businesses": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			writeJSONStatus(w, 200, map[string]any{"data": []any{map[string]any{"id": "5550001", "name": "Shop Ltd"}}})
		},
		v + "/5550001/owned_whatsapp_business_accounts": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			writeJSONStatus(w, 200, map[string]any{"data": []any{map[string]any{"id": "6660001", "name": "Shop WA"}}})
		},
		v + "/6660001/phone_numbers": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			writeJSONStatus(w, 200, map[string]any{"data": []any{map[string]any{"id": "7770001", "display_phone_number": "+1 555 0100", "verified_name": "Shop"}}})
		},
		v + "/*": func(w http.ResponseWriter, r *http.Request, req fakeReq) { // /{id}/subscribed_apps
			if !strings.HasSuffix(req.Path, "/subscribed_apps") {
				writeJSONStatus(w, 404, map[string]any{"error": map[string]any{"code": 803}})
				return
			}
			writeJSONStatus(w, 200, map[string]any{"success": true})
		},
	})
}

// TestConnectMeta: Facebook Login covering several Pages: the member picks which to link
// (ListConnectableAssets, LinkConnectedAssets), each linked Page subscribed to the app's
// webhooks with its Page token; the grant is the team's only, and used once.
func TestConnectMeta(t *testing.T) {
	t.Parallel()
	meta := newMetaFake(t)
	e := startConnectEnv(t, server.Config{PlatformBaseURLs: platforms.BaseURLs{"meta": meta.URL, "meta-auth": meta.URL, "messenger": meta.URL,
		"whatsapp": meta.URL}, Connect: server.ConnectConfig{Meta: connectApp(connMetaAppID, connMetaSecret)}})

	st := e.start(v1.Platform_PLATFORM_MESSENGER)
	au, _ := url.Parse(st.AuthorizeUrl)
	if au.Path != "/v25.0/dialog/oauth" || au.Query().Get("client_id") != connMetaAppID || !strings.Contains(au.Query().Get("scope"), "pages_messaging") {
		t.Fatalf("authorize URL: %s", st.AuthorizeUrl)
	}
	q := e.browse(st.AuthorizeUrl)
	if q.Get("connect") != "choose" || q.Get("state") != st.State {
		t.Fatalf("return URL query: %v", q)
	}
	// Another team cannot see or use the grant.
	other := call[v1.CreateTeamResponse](e.a, "/switchboard.v1.TeamService/CreateTeam", &v1.CreateTeamRequest{Name: "Other"})
	o := e.a.as(other.OwnerKey)
	wantCode(t, "another team's grant", o.try("/switchboard.v1.AccountService/ListConnectableAssets",
		&v1.ListConnectableAssetsRequest{State: st.State}, &v1.ListConnectableAssetsResponse{}), connect.CodeNotFound)
	wantCode(t, "another team links a grant", o.try("/switchboard.v1.AccountService/LinkConnectedAssets",
		&v1.LinkConnectedAssetsRequest{State: st.State, AssetIds: []string{"messenger:100000000000001"}}, &v1.LinkConnectedAssetsResponse{}), connect.CodeNotFound)

	assets := call[v1.ListConnectableAssetsResponse](e.a, "/switchboard.v1.AccountService/ListConnectableAssets",
		&v1.ListConnectableAssetsRequest{State: st.State}).Assets
	var names []string
	for _, as := range assets {
		names = append(names, as.Id+"="+as.DisplayName)
	}
	// Started for Messenger: the grant's Pages (its Instagram account and WhatsApp number are
	// for a Connect on those platforms).
	sameSet(t, "connectable assets", names, []string{"messenger:100000000000001=Shop One", "messenger:100000000000002=Shop Two"})
	wantCode(t, "an asset not in the grant", e.a.try("/switchboard.v1.AccountService/LinkConnectedAssets",
		&v1.LinkConnectedAssetsRequest{State: st.State, AssetIds: []string{"messenger:999"}}, &v1.LinkConnectedAssetsResponse{}), connect.CodeInvalidArgument)
	res := call[v1.LinkConnectedAssetsResponse](e.a, "/switchboard.v1.AccountService/LinkConnectedAssets",
		&v1.LinkConnectedAssetsRequest{State: st.State, AssetIds: []string{"messenger:100000000000002"}})
	if len(res.AccountLinks) != 1 {
		t.Fatalf("LinkConnectedAssets: %+v", res)
	}
	l := e.waitLink(res.AccountLinks[0].Id, "linked", func(l *v1.AccountLink) bool { return l.Active })
	if l.PlatformId != "100000000000002" || l.Platform != v1.Platform_PLATFORM_MESSENGER || l.DisplayName != "Shop Two" {
		t.Fatalf("link: %+v", l)
	}
	subs := meta.requests("/v25.0/100000000000002/subscribed_apps")
	if len(subs) != 1 || subs[0].Method != http.MethodPost || subs[0].Query.Get("access_token") != pageToken2 ||
		!strings.Contains(subs[0].Query.Get("subscribed_fields"), "messages") || !strings.Contains(subs[0].Query.Get("subscribed_fields"), "message_echoes") {
		t.Fatalf("subscribed_apps: %+v", subs)
	}
	if n := len(meta.requests("/v25.0/100000000000001/subscribed_apps")); n != 0 {
		t.Fatalf("the Page not picked was subscribed (%d)", n)
	}
	// The grant is used up.
	wantCode(t, "a grant used twice", e.a.try("/switchboard.v1.AccountService/LinkConnectedAssets",
		&v1.LinkConnectedAssetsRequest{State: st.State, AssetIds: []string{"messenger:100000000000001"}}, &v1.LinkConnectedAssetsResponse{}), connect.CodeNotFound)

	// WhatsApp through the same app: one number, linked at once, its business account subscribed.
	q = e.browse(e.start(v1.Platform_PLATFORM_WHATSAPP).AuthorizeUrl)
	if q.Get("connect") != "ok" {
		t.Fatalf("WhatsApp: %v", q)
	}
	wa := e.waitLink(q.Get("account_link_ids"), "linked", func(l *v1.AccountLink) bool { return l.Active })
	if wa.PlatformId != "7770001" || wa.Platform != v1.Platform_PLATFORM_WHATSAPP {
		t.Fatalf("WhatsApp link: %+v", wa)
	}
	if subs := meta.requests("/v25.0/6660001/subscribed_apps"); len(subs) != 1 || subs[0].Header.Get("Authorization") != "Bearer "+metaUserLL {
		t.Fatalf("WABA subscribed_apps: %+v", subs)
	}
	// Unlinking the Page unsubscribes it.
	call[v1.UnlinkAccountResponse](e.a, "/switchboard.v1.AccountService/UnlinkAccount", &v1.UnlinkAccountRequest{AccountLinkId: l.Id})
	if subs := meta.requests("/v25.0/100000000000002/subscribed_apps"); len(subs) != 2 || subs[1].Method != http.MethodDelete {
		t.Fatalf("unsubscribe: %+v", subs)
	}
	e.noSecrets(connMetaSecret, pageToken1, pageToken2, metaUserLL, "EAAUserShortLived", "meta-code-1")
}

// TestConnectInstagram: Instagram Login: code → short-lived → long-lived token, the account's
// webhooks subscribed, the 60-day token renewed (here it is due at once) with
// refresh_access_token.
func TestConnectInstagram(t *testing.T) {
	t.Parallel()
	const appID, secret = "990000000000001", "ig-app-secret-0123456789abcdef"
	var expires atomic.Int64
	expires.Store(3 * 24 * 3600) // three days left: within the refresher's week
	ig := newFake(t, map[string]func(http.ResponseWriter, *http.Request, fakeReq){
		"/oauth/authorize": approve("ig-code-1"),
		"/oauth/access_token": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			f := req.Form
			if f.Get("client_id") != appID || f.Get("client_secret") != secret || f.Get("code") != "ig-code-1" || f.Get("grant_type") != "authorization_code" {
				writeJSONStatus(w, 400, map[string]any{"error_type": "OAuthException", "code": 400, "error_message": "Invalid authorization code"})
				return
			}
			writeJSONStatus(w, 200, map[string]any{"data": []any{map[string]any{"access_token": "IGShortLivedToken", "user_id": "17841400000000009",
				"permissions": "instagram_business_basic,instagram_business_manage_messages"}}})
		},
		"/access_token": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			if req.Query.Get("grant_type") != "ig_exchange_token" || req.Query.Get("client_secret") != secret || req.Query.Get("access_token") != "IGShortLivedToken" {
				writeJSONStatus(w, 400, map[string]any{"error": map[string]any{"code": 190}})
				return
			}
			writeJSONStatus(w, 200, map[string]any{"access_token": "IGLongLivedToken1", "token_type": "bearer", "expires_in": expires.Load()})
		},
		"/refresh_access_token": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			if req.Query.Get("grant_type") != "ig_refresh_token" || req.Query.Get("access_token") != "IGLongLivedToken1" {
				writeJSONStatus(w, 400, map[string]any{"error": map[string]any{"code": 190}})
				return
			}
			writeJSONStatus(w, 200, map[string]any{"access_token": "IGLongLivedToken2", "token_type": "bearer", "expires_in": 5183944})
		},
		"/v25.0/me": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			writeJSONStatus(w, 200, map[string]any{"user_id": "17841400000000009", "username": "shopgram", "name": "Shop Gram", "id": "9000000000000009"})
		},
		"/v25.0/me/subscribed_apps": func(w http.ResponseWriter, r *http.Request, req fakeReq) {
			writeJSONStatus(w, 200, map[string]any{"success": true})
		},
	})
	e := startConnectEnv(t, server.Config{PlatformBaseURLs: platforms.BaseURLs{"instagram": ig.URL, "instagram-auth": ig.URL},
		Connect: server.ConnectConfig{Instagram: connectApp(appID, secret)}})
	st := e.start(v1.Platform_PLATFORM_INSTAGRAM)
	if au, _ := url.Parse(st.AuthorizeUrl); au.Path != "/oauth/authorize" || au.Query().Get("scope") != "instagram_business_basic,instagram_business_manage_messages" {
		t.Fatalf("authorize URL: %s", st.AuthorizeUrl)
	}
	q := e.browse(st.AuthorizeUrl)
	if q.Get("connect") != "ok" {
		t.Fatalf("return URL query: %v", q)
	}
	l := e.waitLink(q.Get("account_link_ids"), "linked", func(l *v1.AccountLink) bool { return l.Active })
	if l.PlatformId != "17841400000000009" || l.Username != "shopgram" || l.Platform != v1.Platform_PLATFORM_INSTAGRAM {
		t.Fatalf("link: %+v", l)
	}
	if subs := ig.requests("/v25.0/me/subscribed_apps"); len(subs) != 1 || subs[0].Query.Get("access_token") != "IGLongLivedToken1" ||
		!strings.Contains(subs[0].Query.Get("subscribed_fields"), "messages") {
		t.Fatalf("subscribed_apps: %+v", subs)
	}
	e.waitEvents("account.token_refreshed.v1", 1)
	if n := len(ig.requests("/refresh_access_token")); n != 1 {
		t.Fatalf("%d renewals, want 1", n)
	}
	e.noSecrets(secret, "IGShortLivedToken", "IGLongLivedToken1", "IGLongLivedToken2", "ig-code-1")
}

// TestConnectRefreshOncePerDeployment: two processes run the refresher over the same links; a
// token due is renewed by one of them only (X rotates refresh tokens: a second renewal with the
// old one would be refused and mark the link for reconnecting).
func TestConnectRefreshOncePerDeployment(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	x := newXFake(t)
	x.exchangeIn = 600
	x.refreshDelay.Store(int64(500 * time.Millisecond)) // both processes find the token due meanwhile
	// At scale every process shares SWITCHBOARD_SECRET_KEY (sealed credentials and states).
	e := startConnectEnv(t, server.Config{PostgresURL: pg, Kafka: scaleKafka(brokers), SecretKey: strings.Repeat("ab", 32),
		PlatformBaseURLs: platforms.BaseURLs{"x": x.URL, "x-auth": x.URL},
		Connect:          server.ConnectConfig{X: connectApp(xClientID, xClientSecret)}})
	second := e.another(t)
	// Started on the second process, the browser comes back to whichever the proxy reaches:
	// the state is shared.
	st := call[v1.StartConnectResponse](e.a.viaAddr(second.Addr), "/switchboard.v1.AccountService/StartConnect",
		&v1.StartConnectRequest{Platform: v1.Platform_PLATFORM_X, ReturnUrl: e.returns})
	q := e.browse(st.AuthorizeUrl)
	if q.Get("connect") != "ok" {
		t.Fatalf("return URL query: %v", q)
	}
	id := q.Get("account_link_ids")
	e.waitEvents("account.token_refreshed.v1", 1)
	time.Sleep(time.Second) // both refreshers check every 50 ms: 20 more chances each
	if n := x.refreshes(); n != 1 {
		t.Fatalf("%d renewals by two processes, want 1", n)
	}
	if n := e.countEvents("account.token_refreshed.v1"); n != 1 {
		t.Fatalf("%d token_refreshed events, want 1", n)
	}
	if l := e.links()[id]; !l.Active {
		t.Fatalf("link after renewal: %+v", l)
	}
}
