package profiles

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

const (
	testToken  = "EAAGtestPageAccessToken0123456789"
	testSecret = "app-secret-abcdef"
)

var testCreds = map[string]string{"access_token": testToken, "app_secret": testSecret}

func proofOf(token, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(token))
	return hex.EncodeToString(mac.Sum(nil))
}

// noSecrets fails when s carries the token, the app secret or the proof derived from them.
func noSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range []string{testToken, testSecret, proofOf(testToken, testSecret)} {
		if strings.Contains(s, sec) {
			t.Errorf("%s carries a secret: %s", what, s)
		}
	}
}

func graphServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestGraphFetchersParseProfiles(t *testing.T) {
	cases := []struct {
		name   string
		new    func(GraphConfig) *GraphFetcher
		fields string
		body   string
		want   domain.Participant
	}{
		{"messenger", NewMessengerFetcher, "first_name,last_name,profile_pic",
			`{"first_name":"Peter","last_name":"Chang","profile_pic":"https://platform-lookaside.fbsbx.com/p.jpg","id":"1254459154682919"}`,
			domain.Participant{PlatformID: "1254459154682919", DisplayName: "Peter Chang", AvatarURL: "https://platform-lookaside.fbsbx.com/p.jpg"}},
		{"instagram", NewInstagramFetcher, "name,username,profile_pic",
			`{"name":"Peter Chang","username":"peter_chang_live","profile_pic":"https://fbcdn-profile-a.jpg","follower_count":1234,"is_user_follow_business":false,"is_business_follow_user":true}`,
			domain.Participant{PlatformID: "1254459154682919", DisplayName: "Peter Chang", Username: "peter_chang_live", AvatarURL: "https://fbcdn-profile-a.jpg"}},
		{"instagram without a name", NewInstagramFetcher, "name,username,profile_pic",
			`{"name":null,"username":"someone","profile_pic":null}`,
			domain.Participant{PlatformID: "1254459154682919", Username: "someone"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := graphServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v25.0/1254459154682919" || r.URL.Query().Get("fields") != c.fields {
					t.Errorf("request %s", r.URL)
				}
				if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
					t.Errorf("Authorization %q", got)
				}
				if r.URL.Query().Get("access_token") != "" {
					t.Error("the token travels in the URL")
				}
				if got := r.URL.Query().Get("appsecret_proof"); got != proofOf(testToken, testSecret) {
					t.Errorf("appsecret_proof %q", got)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(c.body))
			})
			f := c.new(GraphConfig{BaseURLs: platforms.BaseURLs{c.name[:strings.IndexByte(c.name+" ", ' ')]: srv.URL + "/"}})
			got, err := f.Fetch(context.Background(), platforms.Link{ID: "acc_1"}, testCreds, "1254459154682919")
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestGraphFetcherDefaults(t *testing.T) {
	m, i := NewMessengerFetcher(GraphConfig{}), NewInstagramFetcher(GraphConfig{BaseURLs: platforms.BaseURLs{"messenger": "http://x"}})
	if m.base != DefaultGraphBaseURL || i.base != DefaultGraphBaseURL || m.version != DefaultGraphVersion {
		t.Errorf("defaults: %s %s %s", m.base, i.base, m.version)
	}
	if m.Platform() != domain.PlatformMessenger || i.Platform() != domain.PlatformInstagram {
		t.Error("platforms")
	}
	if l, b := m.Limit(); l <= 0 || b < 1 {
		t.Errorf("limit %v %d", l, b)
	}
}

func TestGraphFetcherErrors(t *testing.T) {
	echo := `{"error":{"message":"Invalid OAuth access token - Cannot parse access token ` + testToken + ` proof ` +
		proofOf(testToken, testSecret) + `","type":"OAuthException","code":%CODE%,"error_subcode":%SUB%,"fbtrace_id":"AbC"}}`
	graphErr := func(code, sub string) string {
		return strings.NewReplacer("%CODE%", code, "%SUB%", sub).Replace(echo)
	}
	cases := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		auth    bool
		retry   time.Duration // > 0: want RetryAfter of this length
		graph   int           // > 0: want GraphError with this code
		generic bool
	}{
		{name: "401 without body", status: 401, auth: true},
		{name: "403 without body", status: 403, auth: true},
		{name: "expired token", status: 400, body: graphErr("190", "463"), auth: true},
		{name: "permission removed", status: 403, body: graphErr("200", "0"), auth: true},
		{name: "no user consent is about one person", status: 400, body: graphErr("230", "0"), graph: 230},
		{name: "unknown object", status: 400, body: graphErr("100", "33"), graph: 100},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "7"}, retry: 7 * time.Second},
		{name: "429 without a hint", status: 429, retry: defaultRetryAfter},
		{name: "app request limit", status: 400, body: graphErr("4", "0"), retry: defaultRetryAfter},
		{name: "page request limit", status: 403, body: graphErr("32", "0"), retry: defaultRetryAfter},
		{name: "messenger BUC limit", status: 400, body: graphErr("80006", "0"),
			header: map[string]string{"X-Business-Use-Case-Usage": `{"1234":[{"type":"messenger","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":3}]}`},
			retry:  3 * time.Minute},
		{name: "server error", status: 500, body: graphErr("2", "0"), graph: 2},
		{name: "not JSON", status: 502, body: "<html>bad gateway " + testToken + "</html>", graph: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := graphServer(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			})
			f := NewMessengerFetcher(GraphConfig{BaseURLs: platforms.BaseURLs{"messenger": srv.URL}})
			_, err := f.Fetch(context.Background(), platforms.Link{}, testCreds, "42")
			if err == nil {
				t.Fatal("no error")
			}
			noSecrets(t, "error", err.Error())
			a, isAuth := platforms.IsAuth(err)
			ra, isRetry := platforms.IsRetryAfter(err)
			var ge *GraphError
			isGraph := errors.As(err, &ge)
			switch {
			case c.auth:
				if !isAuth {
					t.Fatalf("want AuthError, got %T %v", err, err)
				}
				noSecrets(t, "reason", a.Reason)
			case c.retry > 0:
				if !isRetry || ra.After != c.retry {
					t.Fatalf("want RetryAfter %v, got %T %v", c.retry, err, err)
				}
			case c.graph != 0:
				if !isGraph || isAuth || isRetry || (c.graph > 0 && ge.Code != c.graph) {
					t.Fatalf("want GraphError %d, got %T %v", c.graph, err, err)
				}
			}
		})
	}
}

func TestGraphFetcherRefusesWithoutRequest(t *testing.T) {
	var hits atomic.Int32
	srv := graphServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	f := NewInstagramFetcher(GraphConfig{BaseURLs: platforms.BaseURLs{"instagram": srv.URL}})
	_, err := f.Fetch(context.Background(), platforms.Link{}, map[string]string{}, "42")
	if _, ok := platforms.IsAuth(err); !ok {
		t.Errorf("no token: %v", err)
	}
	for _, id := range []string{"", "..", "1/../me", "me?fields=x", "a b"} {
		if _, err := f.Fetch(context.Background(), platforms.Link{}, testCreds, id); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests", hits.Load())
	}
}

func TestGraphFetcherTransportErrorsCarryNoSecret(t *testing.T) {
	// A closed server: the transport error would quote the URL with the proof.
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	f := NewMessengerFetcher(GraphConfig{BaseURLs: platforms.BaseURLs{"messenger": base}})
	_, err := f.Fetch(context.Background(), platforms.Link{}, testCreds, "42")
	if err == nil {
		t.Fatal("no error")
	}
	noSecrets(t, "transport error", err.Error())

	// A hanging server: the caller's deadline wins.
	release := make(chan struct{})
	slow := graphServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	f = NewMessengerFetcher(GraphConfig{BaseURLs: platforms.BaseURLs{"messenger": slow.URL}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = f.Fetch(ctx, platforms.Link{}, testCreds, "42")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("slow Graph: %v after %v", err, time.Since(start))
	}
	noSecrets(t, "timeout error", err.Error())
}
