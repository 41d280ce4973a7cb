package x

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/domain"
)

// Scopes a connected X account grants: its DMs (read, write), the reads they need, and a
// refresh token (offline.access).
const Scopes = "dm.read dm.write tweet.read users.read offline.access"

// DefaultAuthURL is the site of X's authorization page.
const DefaultAuthURL = "https://x.com"

// CredRefreshToken is the OAuth 2.0 refresh token of a connected link (rotated at every
// renewal); its access token is CredBearerToken, renewed by Switchboard before it expires.
const CredRefreshToken = "refresh_token"

type oauthFlow struct {
	app       connect.App
	api, auth string
	client    *http.Client
}

// NewConnect returns X's connect flow: OAuth 2.0 authorization code with PKCE (S256), a
// confidential client (client id and secret as basic auth at the token endpoint). Hosts: "x"
// (the API and the token endpoint, api.x.com) and "x-auth" (the authorization page, x.com).
func NewConnect(app connect.App, baseURLs platforms.BaseURLs) connect.OAuth {
	return newFlow(app, baseURLs)
}

func newFlow(app connect.App, baseURLs platforms.BaseURLs) *oauthFlow {
	api, auth := connect.Hosts(baseURLs, domain.PlatformX.String(), DefaultBaseURL, DefaultAuthURL)
	return &oauthFlow{app: app, api: api, auth: auth, client: connect.Client}
}

func (*oauthFlow) Name() string                 { return "x" }
func (*oauthFlow) Platforms() []domain.Platform { return []domain.Platform{domain.PlatformX} }
func (*oauthFlow) PKCE() bool                   { return true }

func (f *oauthFlow) AuthorizeURL(state, redirectURI, challenge string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {f.app.ClientID}, "redirect_uri": {redirectURI},
		"scope": {Scopes}, "state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	return f.auth + "/i/oauth2/authorize?" + q.Encode()
}

type token struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    connect.Seconds `json:"expires_in"`
	Scope        string          `json:"scope"`
}

func (f *oauthFlow) token(ctx context.Context, form url.Values) (token, error) {
	var t token
	err := connect.PostForm(ctx, f.client, f.api+"/2/oauth2/token", "x 2/oauth2/token", form, f.app.ClientID, f.app.ClientSecret, nil, &t)
	if err == nil && t.AccessToken == "" {
		err = errors.New("x 2/oauth2/token: no access token")
	}
	return t, err
}

func (f *oauthFlow) Exchange(ctx context.Context, code, redirectURI, verifier string) ([]connect.Asset, error) {
	t, err := f.token(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {f.app.ClientID}})
	if err != nil {
		return nil, err
	}
	if t.Scope != "" && !strings.Contains(" "+t.Scope+" ", " dm.read ") {
		return nil, errors.New("x 2/oauth2/token: the grant lacks the dm.read scope")
	}
	var me struct {
		Data struct {
			ID, Name, Username string
		} `json:"data"`
	}
	if err := connect.Get(ctx, f.client, f.api+"/2/users/me", "x 2/users/me", nil, t.AccessToken, nil, &me); err != nil {
		return nil, err
	}
	if me.Data.ID == "" {
		return nil, errors.New("x 2/users/me: no user id")
	}
	creds := map[string]string{CredBearerToken: t.AccessToken, CredRefreshToken: t.RefreshToken, connect.CredConnectedBy: "oauth"}
	connect.SetExpiry(creds, time.Now(), float64(t.ExpiresIn))
	return []connect.Asset{{ID: "x:" + me.Data.ID, Platform: domain.PlatformX, PlatformID: me.Data.ID, Username: me.Data.Username,
		DisplayName: me.Data.Name, Credentials: creds}}, nil
}

type refresher struct{ f *oauthFlow }

// NewRefresher renews connected links' access tokens (2 hours) with their refresh token, which
// X rotates: the new one replaces it.
func NewRefresher(app connect.App, baseURLs platforms.BaseURLs) connect.Refresher {
	return refresher{newFlow(app, baseURLs)}
}

func (refresher) Platform() domain.Platform { return domain.PlatformX }
func (refresher) Before() time.Duration     { return 30 * time.Minute }

func (r refresher) Refresh(ctx context.Context, _ platforms.Link, creds map[string]string) (map[string]string, time.Time, error) {
	rt := creds[CredRefreshToken]
	if rt == "" {
		return nil, time.Time{}, &connect.Refused{Reason: "the link has no X refresh token"}
	}
	t, err := r.f.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {r.f.app.ClientID}})
	if err != nil {
		var he *connect.HTTPError
		if errors.As(err, &he) && (he.Status == http.StatusBadRequest || he.Status == http.StatusUnauthorized) {
			return nil, time.Time{}, &connect.Refused{Reason: "X refused the refresh token (" + he.Error() + ")"}
		}
		return nil, time.Time{}, err
	}
	out := map[string]string{CredBearerToken: t.AccessToken}
	if t.RefreshToken != "" {
		out[CredRefreshToken] = t.RefreshToken
	}
	until := connect.SetExpiry(map[string]string{}, time.Now(), float64(t.ExpiresIn))
	return out, until, nil
}

// connectedPoller polls the links made by connecting (an OAuth 2.0 user token, no consumer
// secret for Account Activity webhooks); links fed by webhooks are left to them.
type connectedPoller struct{ platforms.Poller }

// NewConnectedPoller returns X's poller restricted to connected links.
func NewConnectedPoller(baseURLs platforms.BaseURLs, client *http.Client) platforms.Poller {
	return connectedPoller{NewPoller(baseURLs, client)}
}

func (p connectedPoller) Poll(ctx context.Context, link platforms.Link, creds map[string]string, cursor string) (platforms.PollResult, error) {
	if creds[CredBearerToken] == "" || creds[CredConsumerSecret] != "" {
		return platforms.PollResult{Cursor: cursor}, nil
	}
	return p.Poller.Poll(ctx, link, creds, cursor)
}
