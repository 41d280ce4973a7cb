package reddit

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/domain"
)

// Scopes a connected Reddit account grants: who it is, and its private messages (reading them
// and answering them through /api/comment and /api/compose).
const Scopes = "identity privatemessages"

type oauthFlow struct {
	app       connect.App
	api, auth string
	client    *http.Client
}

// NewConnect returns Reddit's connect flow (a "web app" of reddit.com/prefs/apps): the code
// flow with duration=permanent, so the refresh token does not expire. Hosts: "reddit" (the
// API, oauth.reddit.com) and "reddit-auth" (www.reddit.com: the authorization page and the
// token endpoint; "reddit_www" is its older name).
func NewConnect(app connect.App, baseURLs platforms.BaseURLs) connect.OAuth {
	api, auth := hosts(baseURLs)
	return &oauthFlow{app: app, api: api, auth: auth, client: connect.Client}
}

// hosts are the API and the token site, as the poller resolves them.
func hosts(b platforms.BaseURLs) (api, auth string) {
	api = strings.TrimRight(b.Get(BaseURLKey, DefaultOAuthURL), "/")
	www := DefaultWWWURL
	if api != DefaultOAuthURL {
		www = api
	}
	www = b.Get(BaseURLKeyWWW, www)
	return api, strings.TrimRight(b.Get(BaseURLKeyAuth, www), "/")
}

func (*oauthFlow) Name() string                 { return "reddit" }
func (*oauthFlow) Platforms() []domain.Platform { return []domain.Platform{domain.PlatformReddit} }
func (*oauthFlow) PKCE() bool                   { return false }

func (f *oauthFlow) AuthorizeURL(state, redirectURI, _ string) string {
	q := url.Values{"client_id": {f.app.ClientID}, "response_type": {"code"}, "state": {state},
		"redirect_uri": {redirectURI}, "duration": {"permanent"}, "scope": {Scopes}}
	return f.auth + "/api/v1/authorize?" + q.Encode()
}

var connectHeader = http.Header{"User-Agent": {"server:switchboard:v1 (connect)"}}

func (f *oauthFlow) Exchange(ctx context.Context, code, redirectURI, _ string) ([]connect.Asset, error) {
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
		Error        string `json:"error"`
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if err := connect.PostForm(ctx, f.client, f.auth+"/api/v1/access_token", "reddit access_token", form,
		f.app.ClientID, f.app.ClientSecret, connectHeader, &tok); err != nil {
		return nil, err
	}
	if tok.Error != "" { // Reddit may answer 200 with an OAuth error
		return nil, &connect.HTTPError{What: "reddit access_token", Status: http.StatusOK, Code: tok.Error}
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		return nil, errors.New("reddit access_token: no access or refresh token (was duration=permanent granted?)")
	}
	var me struct {
		Name string `json:"name"`
	}
	if err := connect.Get(ctx, f.client, f.api+"/api/v1/me", "reddit api/v1/me", nil, tok.AccessToken, connectHeader, &me); err != nil {
		return nil, err
	}
	if me.Name == "" {
		return nil, errors.New("reddit api/v1/me: no name")
	}
	return []connect.Asset{{ID: "reddit:" + me.Name, Platform: domain.PlatformReddit, PlatformID: me.Name, Username: me.Name,
		DisplayName: "u/" + me.Name, Credentials: map[string]string{
			CredClientID: f.app.ClientID, CredClientSecret: f.app.ClientSecret, CredRefreshToken: tok.RefreshToken,
			connect.CredConnectedBy: "oauth",
		}}}, nil
}
