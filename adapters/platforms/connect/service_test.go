package connect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/adapters/secretbox"
	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
)

// flow is an OAuth flow that counts its code exchanges.
type flow struct{ exchanges int }

func (*flow) Name() string                 { return "test" }
func (*flow) Platforms() []domain.Platform { return []domain.Platform{domain.PlatformReddit} }
func (*flow) PKCE() bool                   { return true }
func (*flow) AuthorizeURL(state, redirectURI, challenge string) string {
	return "https://auth.example/authorize?state=" + state + "&code_challenge=" + challenge
}
func (f *flow) Exchange(context.Context, string, string, string) ([]connect.Asset, error) {
	f.exchanges++
	return nil, nil
}

func newStore(t *testing.T) *sqlite.CredentialStore {
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.OpenCredentialStore(filepath.Join(t.TempDir(), "credentials.db"), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// A state older than 10 minutes is refused at the callback: no code is exchanged.
func TestStateExpires(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	f := &flow{}
	s := connect.NewService(connect.Deps{States: newStore(t), PublicURL: "https://inbox.example", Now: func() time.Time { return now }},
		[]connect.OAuth{f}, nil, nil)
	a := commands.Actor{TeamID: "team_1", MemberID: "mem_1", Role: "owner"}
	st, err := s.StartConnect(context.Background(), a, domain.PlatformReddit, "https://app.example/back", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.AuthorizeURL, "code_challenge=") || strings.HasSuffix(st.AuthorizeURL, "code_challenge=") {
		t.Fatalf("no PKCE challenge: %s", st.AuthorizeURL)
	}
	now = now.Add(connect.StateTTL + time.Second)
	rec := httptest.NewRecorder()
	s.Callback().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth/callback/test?code=c&state="+st.State, nil))
	if rec.Code != http.StatusBadRequest || f.exchanges != 0 {
		t.Fatalf("expired state: HTTP %d, %d exchanges", rec.Code, f.exchanges)
	}
}

// The lease gives a link's renewal to one holder until it ends.
func TestRefreshLease(t *testing.T) {
	s := newStore(t)
	ctx, now := context.Background(), time.Now()
	for _, c := range []struct {
		holder string
		at     time.Time
		want   bool
	}{
		{"p1", now, true},
		{"p2", now.Add(time.Minute), false},    // p1 holds it
		{"p1", now.Add(time.Minute), true},     // its holder may extend it
		{"p2", now.Add(4 * time.Minute), true}, // p1's lease ended
	} {
		got, err := s.ClaimTokenRefresh(ctx, "acc_1", c.holder, c.at.Add(2*time.Minute), c.at)
		if err != nil || got != c.want {
			t.Fatalf("%s at +%v: %v %v, want %v", c.holder, c.at.Sub(now), got, err, c.want)
		}
	}
}
