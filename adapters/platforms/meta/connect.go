package meta

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/domain"
)

// DefaultLoginURL is the site of Facebook Login's dialog.
const DefaultLoginURL = "https://www.facebook.com"

// LoginScopes are the permissions Facebook Login asks for: the member's Pages and their
// messages, the Instagram accounts attached to them, and the WhatsApp numbers of their
// businesses.
const LoginScopes = "pages_show_list,pages_messaging,pages_manage_metadata,business_management," +
	"instagram_basic,instagram_manage_messages,whatsapp_business_management,whatsapp_business_messaging"

// Credential keys a connected Meta link adds: the Page an Instagram account is attached to
// (its webhooks come through the Page's subscription) and a WhatsApp number's business account.
const (
	CredPageID = "page_id"
	CredWABAID = "waba_id"
)

// PageFields are the Page webhook fields the Messenger and Instagram adapters parse.
const PageFields = "messages,messaging_postbacks,message_deliveries,message_reads,message_echoes,message_edits,message_reactions"

type loginFlow struct {
	app              connect.App
	graph, login     string
	version          string
	client           *http.Client
	includeInstagram bool
}

// NewConnect returns Facebook Login: code → user token → long-lived user token (60 days) →
// the Pages it manages with their Page tokens (which do not expire), the Instagram accounts
// attached to them, and the WhatsApp numbers of the member's businesses. Hosts: "meta" (the
// Graph API) and "meta-auth" (the login dialog). withInstagram: Instagram accounts connect
// through this flow too (when no Instagram Login app is configured).
func NewConnect(app connect.App, baseURLs platforms.BaseURLs, withInstagram bool) connect.OAuth {
	graph, login := connect.Hosts(baseURLs, "meta", DefaultGraphBaseURL, DefaultLoginURL)
	return &loginFlow{app: app, graph: graph, login: login, version: DefaultGraphVersion, client: connect.Client, includeInstagram: withInstagram}
}

func (*loginFlow) Name() string { return "meta" }
func (f *loginFlow) Platforms() []domain.Platform {
	out := []domain.Platform{domain.PlatformMessenger, domain.PlatformWhatsApp}
	if f.includeInstagram {
		out = append(out, domain.PlatformInstagram)
	}
	return out
}
func (*loginFlow) PKCE() bool { return false }

func (f *loginFlow) AuthorizeURL(state, redirectURI, _ string) string {
	q := url.Values{"client_id": {f.app.ClientID}, "redirect_uri": {redirectURI}, "state": {state},
		"response_type": {"code"}, "scope": {LoginScopes}}
	return f.login + "/" + f.version + "/dialog/oauth?" + q.Encode()
}

func (f *loginFlow) get(ctx context.Context, path, what string, q url.Values, out any) error {
	return connect.Get(ctx, f.client, f.graph+"/"+f.version+path, what, q, "", nil, out)
}

type graphToken struct {
	AccessToken string          `json:"access_token"`
	ExpiresIn   connect.Seconds `json:"expires_in"`
}

func (f *loginFlow) Exchange(ctx context.Context, code, redirectURI, _ string) ([]connect.Asset, error) {
	var short graphToken
	if err := f.get(ctx, "/oauth/access_token", "graph oauth/access_token", url.Values{"client_id": {f.app.ClientID},
		"client_secret": {f.app.ClientSecret}, "redirect_uri": {redirectURI}, "code": {code}}, &short); err != nil {
		return nil, err
	}
	var long graphToken
	if err := f.get(ctx, "/oauth/access_token", "graph oauth/access_token (fb_exchange_token)", url.Values{"grant_type": {"fb_exchange_token"},
		"client_id": {f.app.ClientID}, "client_secret": {f.app.ClientSecret}, "fb_exchange_token": {short.AccessToken}}, &long); err != nil {
		return nil, err
	}
	if long.AccessToken == "" {
		return nil, errors.New("graph oauth/access_token: no long-lived token")
	}
	user := long.AccessToken
	var pages struct {
		Data []struct {
			ID, Name    string
			AccessToken string `json:"access_token"`
			IG          *struct {
				ID, Username, Name string
			} `json:"instagram_business_account"`
		} `json:"data"`
	}
	if err := f.get(ctx, "/me/accounts", "graph me/accounts", url.Values{"access_token": {user},
		"fields": {"id,name,access_token,instagram_business_account{id,username,name}"}, "limit": {"100"}}, &pages); err != nil {
		return nil, err
	}
	var out []connect.Asset
	for _, p := range pages.Data {
		if p.ID == "" || p.AccessToken == "" {
			continue
		}
		out = append(out, connect.Asset{ID: "messenger:" + p.ID, Platform: domain.PlatformMessenger, PlatformID: p.ID,
			DisplayName: p.Name, Credentials: f.creds(p.AccessToken, map[string]string{})})
		if p.IG != nil && p.IG.ID != "" && f.includeInstagram {
			out = append(out, connect.Asset{ID: "instagram:" + p.IG.ID, Platform: domain.PlatformInstagram, PlatformID: p.IG.ID,
				Username: p.IG.Username, DisplayName: p.IG.Name, Credentials: f.creds(p.AccessToken, map[string]string{CredPageID: p.ID})})
		}
	}
	wa, err := f.whatsapp(ctx, user, long.ExpiresIn)
	if err != nil {
		return nil, err
	}
	return append(out, wa...), nil
}

// whatsapp lists the numbers of the member's businesses' WhatsApp accounts; they are used with
// the member's long-lived token (a system user token, pasted through LinkAccount, lasts longer).
func (f *loginFlow) whatsapp(ctx context.Context, user string, expiresIn connect.Seconds) ([]connect.Asset, error) {
	type list struct {
		Data []struct {
			ID, Name           string
			DisplayPhoneNumber string `json:"display_phone_number"`
			VerifiedName       string `json:"verified_name"`
		} `json:"data"`
	}
	var businesses list
	if err := f.get(ctx, "/me/businesses", "graph me/businesses", url.Values{"access_token": {user}, "fields": {"id,name"}}, &businesses); err != nil {
		var he *connect.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusForbidden || errors.As(err, &he) && he.Code == "200" {
			return nil, nil // business_management not granted: no WhatsApp numbers
		}
		return nil, err
	}
	var out []connect.Asset
	for _, b := range businesses.Data {
		var wabas list
		if err := f.get(ctx, "/"+url.PathEscape(b.ID)+"/owned_whatsapp_business_accounts", "graph owned_whatsapp_business_accounts",
			url.Values{"access_token": {user}, "fields": {"id,name"}}, &wabas); err != nil {
			return nil, err
		}
		for _, w := range wabas.Data {
			var phones list
			if err := f.get(ctx, "/"+url.PathEscape(w.ID)+"/phone_numbers", "graph phone_numbers",
				url.Values{"access_token": {user}, "fields": {"id,display_phone_number,verified_name"}}, &phones); err != nil {
				return nil, err
			}
			for _, ph := range phones.Data {
				creds := f.creds(user, map[string]string{CredWABAID: w.ID})
				connect.SetExpiry(creds, time.Now(), float64(expiresIn))
				out = append(out, connect.Asset{ID: "whatsapp:" + ph.ID, Platform: domain.PlatformWhatsApp, PlatformID: ph.ID,
					Username: ph.DisplayPhoneNumber, DisplayName: ph.VerifiedName, Credentials: creds})
			}
		}
	}
	return out, nil
}

// creds are a link's credentials: the app's secret (webhook signatures), a generated verify
// token (the subscription handshake) and the token.
func (f *loginFlow) creds(token string, more map[string]string) map[string]string {
	more[CredAppSecret], more[CredVerifyToken], more[CredAccessToken] = f.app.ClientSecret, rand.Text(), token
	more[connect.CredConnectedBy] = "oauth"
	return more
}

// subscriber registers webhooks through subscribed_apps.
type subscriber struct {
	platform domain.Platform
	graph    string // graph.facebook.com (Pages, WhatsApp business accounts)
	ig       string // graph.instagram.com (Instagram Login accounts)
	client   *http.Client
}

// NewSubscriber returns the registrar of a Meta platform: POST /{page}/subscribed_apps (the
// Page's token; an Instagram account connected through Facebook Login through its Page),
// /me/subscribed_apps on graph.instagram.com for an Instagram Login account, and
// /{waba}/subscribed_apps for a WhatsApp number. The app's callback URL itself is set in the
// app's dashboard (see README: Connecting accounts).
func NewSubscriber(p domain.Platform, baseURLs platforms.BaseURLs) connect.Registrar {
	graph := strings.TrimRight(baseURLs.Get(p.String(), DefaultGraphBaseURL), "/")
	if p == domain.PlatformInstagram {
		graph = strings.TrimRight(baseURLs.Get(domain.PlatformMessenger.String(), DefaultGraphBaseURL), "/")
	}
	ig := strings.TrimRight(baseURLs.Get(domain.PlatformInstagram.String(), DefaultInstagramBaseURL), "/")
	return subscriber{platform: p, graph: graph, ig: ig, client: connect.Client}
}

func (s subscriber) Platform() domain.Platform                 { return s.platform }
func (subscriber) Prepare(map[string]string) map[string]string { return nil }

// InstagramFields are the webhook fields of an Instagram Login account.
const InstagramFields = "messages,messaging_seen,message_reactions,messaging_postbacks"

// target is the subscription's URL and the token it takes (bearer for WhatsApp, a query
// parameter for Pages and Instagram).
func (s subscriber) target(link platforms.Link, creds map[string]string) (u string, q url.Values, bearer string, err error) {
	token := creds[CredAccessToken]
	if token == "" {
		return "", nil, "", errors.New("the link has no access_token")
	}
	switch {
	case s.platform == domain.PlatformWhatsApp:
		if creds[CredWABAID] == "" {
			return "", nil, "", errors.New("the link has no waba_id")
		}
		return s.graph + "/" + DefaultGraphVersion + "/" + url.PathEscape(creds[CredWABAID]) + "/subscribed_apps", url.Values{}, token, nil
	case s.platform == domain.PlatformInstagram && creds[CredPageID] == "":
		return s.ig + "/" + DefaultGraphVersion + "/me/subscribed_apps", url.Values{"subscribed_fields": {InstagramFields}, "access_token": {token}}, "", nil
	}
	page := link.PlatformID
	if creds[CredPageID] != "" {
		page = creds[CredPageID]
	}
	return s.graph + "/" + DefaultGraphVersion + "/" + url.PathEscape(page) + "/subscribed_apps",
		url.Values{"subscribed_fields": {PageFields}, "access_token": {token}}, "", nil
}

func (s subscriber) Register(ctx context.Context, link platforms.Link, creds map[string]string, _ string) error {
	return s.call(ctx, http.MethodPost, link, creds)
}

func (s subscriber) Unregister(ctx context.Context, link platforms.Link, creds map[string]string) error {
	return s.call(ctx, http.MethodDelete, link, creds)
}

func (s subscriber) call(ctx context.Context, method string, link platforms.Link, creds map[string]string) error {
	u, q, bearer, err := s.target(link, creds)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u+"?"+q.Encode(), nil)
	if err != nil {
		return errors.New("bad Graph URL")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	var out struct {
		Success bool `json:"success"`
	}
	if err := connect.Do(s.client, req, "graph subscribed_apps", &out); err != nil {
		return err
	}
	if !out.Success {
		return errors.New("graph subscribed_apps: not accepted")
	}
	return nil
}
