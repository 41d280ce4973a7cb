package instagram

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/domain"
)

// Default hosts of Instagram Login: the authorization page, and the short-lived token's.
const (
	DefaultAuthorizeURL = "https://www.instagram.com"
	DefaultTokenURL     = "https://api.instagram.com"
)

// Scopes of Instagram Login: the professional account and its messages.
const Scopes = "instagram_business_basic,instagram_business_manage_messages"

type loginFlow struct {
	app       connect.App
	api, auth string
	tokenHost string
	client    *http.Client
}

// NewConnect returns Instagram Login (Instagram API with Instagram Login): code →
// short-lived token → long-lived token (60 days), renewed by the refresher. Hosts:
// "instagram" (graph.instagram.com) and "instagram-auth" (www.instagram.com for the page,
// api.instagram.com for the code exchange; one entry stands in for both).
func NewConnect(app connect.App, baseURLs platforms.BaseURLs) connect.OAuth {
	return newFlow(app, baseURLs)
}

func newFlow(app connect.App, baseURLs platforms.BaseURLs) *loginFlow {
	api, auth := connect.Hosts(baseURLs, domain.PlatformInstagram.String(), meta.DefaultInstagramBaseURL, DefaultAuthorizeURL)
	tokenHost := DefaultTokenURL
	if auth != DefaultAuthorizeURL {
		tokenHost = auth
	}
	return &loginFlow{app: app, api: api, auth: auth, tokenHost: tokenHost, client: connect.Client}
}

func (*loginFlow) Name() string                 { return "instagram" }
func (*loginFlow) Platforms() []domain.Platform { return []domain.Platform{domain.PlatformInstagram} }
func (*loginFlow) PKCE() bool                   { return false }

func (f *loginFlow) AuthorizeURL(state, redirectURI, _ string) string {
	q := url.Values{"client_id": {f.app.ClientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {Scopes}, "state": {state}}
	return f.auth + "/oauth/authorize?" + q.Encode()
}

type igToken struct {
	AccessToken string          `json:"access_token"`
	ExpiresIn   connect.Seconds `json:"expires_in"`
}

func (f *loginFlow) Exchange(ctx context.Context, code, redirectURI, _ string) ([]connect.Asset, error) {
	// Answered flat ({"access_token", "user_id", "permissions"}) or wrapped in "data": [...].
	var raw json.RawMessage
	form := url.Values{"client_id": {f.app.ClientID}, "client_secret": {f.app.ClientSecret}, "grant_type": {"authorization_code"},
		"redirect_uri": {redirectURI}, "code": {code}}
	if err := connect.PostForm(ctx, f.client, f.tokenHost+"/oauth/access_token", "instagram oauth/access_token", form, "", "", nil, &raw); err != nil {
		return nil, err
	}
	var short igToken
	var wrapped struct {
		Data []igToken `json:"data"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && len(wrapped.Data) > 0 {
		short = wrapped.Data[0]
	} else if err := json.Unmarshal(raw, &short); err != nil {
		return nil, errors.New("instagram oauth/access_token: unexpected answer")
	}
	if short.AccessToken == "" {
		return nil, errors.New("instagram oauth/access_token: no access token")
	}
	var long igToken
	if err := connect.Get(ctx, f.client, f.api+"/access_token", "instagram access_token (ig_exchange_token)",
		url.Values{"grant_type": {"ig_exchange_token"}, "client_secret": {f.app.ClientSecret}, "access_token": {short.AccessToken}}, "", nil, &long); err != nil {
		return nil, err
	}
	if long.AccessToken == "" {
		return nil, errors.New("instagram access_token: no long-lived token")
	}
	var me struct {
		ID       string `json:"id"`
		UserID   string `json:"user_id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	}
	if err := connect.Get(ctx, f.client, f.api+"/"+meta.DefaultGraphVersion+"/me", "instagram me",
		url.Values{"fields": {"user_id,username,name"}, "access_token": {long.AccessToken}}, "", nil, &me); err != nil {
		return nil, err
	}
	id := me.UserID // the professional account id webhooks name as the recipient
	if id == "" {
		id = me.ID
	}
	if id == "" {
		return nil, errors.New("instagram me: no user id")
	}
	creds := map[string]string{meta.CredAppSecret: f.app.ClientSecret, meta.CredVerifyToken: rand.Text(),
		meta.CredAccessToken: long.AccessToken, connect.CredConnectedBy: "oauth"}
	connect.SetExpiry(creds, time.Now(), float64(long.ExpiresIn))
	return []connect.Asset{{ID: "instagram:" + id, Platform: domain.PlatformInstagram, PlatformID: id, Username: me.Username,
		DisplayName: me.Name, Credentials: creds}}, nil
}

type refresher struct{ f *loginFlow }

// NewRefresher renews Instagram Login tokens (60 days) a week before they expire.
func NewRefresher(app connect.App, baseURLs platforms.BaseURLs) connect.Refresher {
	return refresher{newFlow(app, baseURLs)}
}

func (refresher) Platform() domain.Platform { return domain.PlatformInstagram }
func (refresher) Before() time.Duration     { return 7 * 24 * time.Hour }

func (r refresher) Refresh(ctx context.Context, _ platforms.Link, creds map[string]string) (map[string]string, time.Time, error) {
	if creds[meta.CredPageID] != "" || creds[connect.CredConnectedBy] != "oauth" {
		// A Page token (Facebook Login) does not expire; a pasted token is the operator's.
		return nil, connect.ExpiresAt(creds), nil
	}
	var t igToken
	err := connect.Get(ctx, r.f.client, strings.TrimRight(r.f.api, "/")+"/refresh_access_token", "instagram refresh_access_token",
		url.Values{"grant_type": {"ig_refresh_token"}, "access_token": {creds[meta.CredAccessToken]}}, "", nil, &t)
	if connect.AuthFailure(err) {
		return nil, time.Time{}, &connect.Refused{Reason: "Instagram refused to renew the token (" + err.Error() + ")"}
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if t.AccessToken == "" {
		return nil, time.Time{}, errors.New("instagram refresh_access_token: no token")
	}
	out := map[string]string{meta.CredAccessToken: t.AccessToken}
	return out, connect.SetExpiry(map[string]string{}, time.Now(), float64(t.ExpiresIn)), nil
}
