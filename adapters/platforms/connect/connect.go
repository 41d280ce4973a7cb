// Package connect links accounts as users do: OAuth authorization-code flows (with PKCE where
// the platform uses it), platforms verified from pasted credentials (Telegram, Bluesky), the
// webhook registration Switchboard does itself on link and unlink, and the refresher that
// keeps tokens fresh. Each platform's dialect lives in its own folder and implements the
// interfaces here; this package holds the flow, the one-time states and the rules, once.
//
// Nothing here ever logs, records or returns a token, a code, a verifier or a client secret:
// errors carry the platform's status and error code only.
package connect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// App is an operator's app on a platform (its developer console's client id and secret).
type App struct {
	ClientID, ClientSecret string
}

// Configured reports whether the app has an id.
func (a App) Configured() bool { return a.ClientID != "" }

// Asset is one account a grant covers, with the credentials its link stores.
type Asset struct {
	// ID names the asset within its grant (what LinkConnectedAssets picks).
	ID                                string
	Platform                          domain.Platform
	PlatformID, Username, DisplayName string
	Credentials                       map[string]string
}

// storedAsset is an Asset as a state keeps it (domain.Platform has no JSON form of its own).
type storedAsset struct {
	ID, Platform, PlatformID, Username, DisplayName string
	Credentials                                     map[string]string
}

func (a Asset) stored() storedAsset {
	return storedAsset{a.ID, a.Platform.String(), a.PlatformID, a.Username, a.DisplayName, a.Credentials}
}

func (s storedAsset) asset() Asset {
	p, _ := domain.ParsePlatform(s.Platform)
	return Asset{s.ID, p, s.PlatformID, s.Username, s.DisplayName, s.Credentials}
}

// OAuth is one platform's authorization-code flow.
type OAuth interface {
	// Name is the flow's name: the callback path /oauth/callback/{name}.
	Name() string
	// Platforms are the platforms StartConnect sends to this flow.
	Platforms() []domain.Platform
	// PKCE reports whether the flow sends a code challenge (S256).
	PKCE() bool
	// AuthorizeURL is the platform's authorization page for this state (challenge is "" without
	// PKCE).
	AuthorizeURL(state, redirectURI, challenge string) string
	// Exchange trades the code for tokens and lists the accounts the grant covers.
	Exchange(ctx context.Context, code, redirectURI, verifier string) ([]Asset, error)
}

// Direct is a platform connected from pasted credentials, verified with the platform.
type Direct interface {
	Platform() domain.Platform
	// Verify checks the credentials and returns the account (with the credentials to store).
	Verify(ctx context.Context, creds map[string]string) (Asset, error)
}

// Registrar registers Switchboard's webhook for a link on its platform, and removes it.
type Registrar interface {
	Platform() domain.Platform
	// Prepare completes a link's credentials before they are stored (a generated webhook
	// secret); it returns nil when nothing changes.
	Prepare(creds map[string]string) map[string]string
	// Register points the platform's deliveries for the link at webhookURL.
	Register(ctx context.Context, link platforms.Link, creds map[string]string, webhookURL string) error
	// Unregister stops them.
	Unregister(ctx context.Context, link platforms.Link, creds map[string]string) error
}

// Refresher renews one platform's tokens.
type Refresher interface {
	Platform() domain.Platform
	// Before is how long before its expiry a token is renewed.
	Before() time.Duration
	// Refresh renews the link's token: it returns the credentials to store (merged over the
	// old ones) and when the new token expires. A *Refused error means the platform will not
	// renew it (revoked consent, expired refresh token): the link needs reconnecting.
	Refresh(ctx context.Context, link platforms.Link, creds map[string]string) (map[string]string, time.Time, error)
}

// Credential keys every connected link may hold (added beside each platform's own).
const (
	// CredExpiresAt is when the stored access token expires (RFC 3339); absent: it does not.
	CredExpiresAt = "expires_at"
	// CredConnectedBy says how the link was made ("oauth", "verified").
	CredConnectedBy = "connected_by"
)

// ExpiresAt reads CredExpiresAt (zero when absent or unreadable).
func ExpiresAt(creds map[string]string) time.Time {
	t, err := time.Parse(time.RFC3339, creds[CredExpiresAt])
	if err != nil {
		return time.Time{}
	}
	return t
}

// SetExpiry stores when a token expires: now + seconds, or nothing when seconds <= 0.
func SetExpiry(creds map[string]string, now time.Time, seconds float64) time.Time {
	if seconds <= 0 {
		delete(creds, CredExpiresAt)
		return time.Time{}
	}
	t := now.Add(time.Duration(seconds * float64(time.Second))).UTC().Truncate(time.Second)
	creds[CredExpiresAt] = t.Format(time.RFC3339)
	return t
}

// Refused is a refresh or verification the platform refused for the credentials themselves.
// Reason is safe to show and keep: never a token.
type Refused struct{ Reason string }

func (e *Refused) Error() string { return e.Reason }

// IsRefused reports a *Refused.
func IsRefused(err error) (*Refused, bool) {
	var r *Refused
	ok := errors.As(err, &r)
	return r, ok
}

// HTTPError is a platform's error answer: its status and error code, never the request's URL
// (which may carry a token) nor its body beyond the code.
type HTTPError struct {
	What   string // the endpoint, named without its host or query
	Status int
	Code   string // the platform's error code ("invalid_grant", "190")
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.What, e.Status)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	return s
}

// AuthFailure reports an answer that refuses the credentials: 400 invalid_grant and its
// kin, 401, 403.
func AuthFailure(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) {
		return false
	}
	switch he.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return true
	case http.StatusBadRequest:
		return he.Code == "invalid_grant" || he.Code == "invalid_token" || he.Code == "190" || he.Code == "unauthorized_client" || he.Code == "ExpiredToken" || he.Code == "InvalidToken"
	}
	return false
}

// Hosts resolves a platform's hosts from --platform-base-urls: key for its API, key+"-auth"
// for its authorization and token host.
func Hosts(b platforms.BaseURLs, key, defAPI, defAuth string) (api, auth string) {
	api = strings.TrimRight(b.Get(key, defAPI), "/")
	auth = strings.TrimRight(b.Get(key+"-auth", defAuth), "/")
	return api, auth
}
