// Package reddit polls Reddit private messages (/message/inbox): there are no webhooks. Each
// account link authorizes with OAuth (an installed or web app's client id and secret, and a
// refresh token with the privatemessages scope).
package reddit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/pollhttp"
	"github.com/switchboard-oss/switchboard/domain"
)

// Default base URLs: the API, and the site that issues tokens.
const (
	DefaultOAuthURL = "https://oauth.reddit.com"
	DefaultWWWURL   = "https://www.reddit.com"
)

// BaseURLs keys: "reddit" is the API; "reddit-auth" (or its older name "reddit_www") the
// token endpoint's site, which follows "reddit" when only that one is set (a proxy or a test
// then needs one entry).
const (
	BaseURLKey     = "reddit"
	BaseURLKeyWWW  = "reddit_www"
	BaseURLKeyAuth = "reddit-auth"
)

// Credential keys of a Reddit account link (LinkAccount platform_id is the username).
const (
	CredClientID     = "client_id"
	CredClientSecret = "client_secret"
	CredRefreshToken = "refresh_token"
)

const (
	// pageSize is a listing's maximum limit.
	pageSize = 100
	// defaultRetryAfter is the wait after a 429 that names none.
	defaultRetryAfter = time.Minute
	// tokenMargin renews an access token this long before it expires.
	tokenMargin = time.Minute
)

type poller struct {
	oauth, www string
	client     *http.Client

	mu       sync.Mutex
	accounts map[string]*account // by account link id
}

// account is one link's access token (memory only, never logged). Its mutex serializes the
// link's polls.
type account struct {
	mu      sync.Mutex
	creds   [sha256.Size]byte
	access  string
	expires time.Time
}

// NewPoller returns Reddit's poller. A nil client gets a default one.
//
// Cursor: the fullname of the newest inbox item recorded (t4_…). A poll asks for the items
// just before it in the newest-first listing (before=<cursor>): the 100 nearest ones, so a
// longer backlog is read in pages, oldest first, with no gap. The first poll (no cursor) takes
// the newest page: a bounded backfill of at most 100 items. The inbox is read with mark=false:
// polling never marks messages read.
func NewPoller(baseURLs platforms.BaseURLs, client *http.Client) platforms.Poller {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	oauth, www := hosts(baseURLs)
	return &poller{oauth: oauth, www: www, client: client,
		accounts: map[string]*account{}}
}

func (*poller) Platform() domain.Platform { return domain.PlatformReddit }

// Limit: 100 queries per minute per OAuth client id (averaged over 10 minutes, so bursts are
// fine); 90 leaves room for token renewals and the empty-inbox check of a poll.
func (*poller) Limit() (rate.Limit, int) { return rate.Every(time.Minute / 90), 10 }

func (p *poller) Poll(ctx context.Context, link platforms.Link, creds map[string]string, cursor string) (platforms.PollResult, error) {
	if creds[CredClientID] == "" || creds[CredRefreshToken] == "" {
		return platforms.PollResult{}, &platforms.AuthError{Reason: "the account link has no Reddit client_id or refresh_token"}
	}
	a := p.account(link.ID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := credsDigest(creds); d != a.creds {
		a.creds, a.access, a.expires = d, "", time.Time{}
	}
	cv := converter{self: link.PlatformID}
	if cursor == "" {
		return p.newest(ctx, a, link, creds, cv)
	}
	page, err := p.inbox(ctx, a, link, creds, url.Values{"before": {cursor}, "limit": {strconv.Itoa(pageSize)}})
	if err != nil {
		return platforms.PollResult{}, err
	}
	if n := len(page.Data.Children); n > 0 {
		return platforms.PollResult{Items: cv.items(oldestFirst(page)), Cursor: newestName(page, cursor), More: n >= pageSize}, nil
	}
	// Nothing before the cursor: nothing new, unless the cursor's message left the inbox
	// (deleted), after which `before` finds nothing ever again. The newest item tells.
	head, err := p.inbox(ctx, a, link, creds, url.Values{"limit": {"1"}})
	if err != nil {
		return platforms.PollResult{}, err
	}
	if len(head.Data.Children) == 0 || newestName(head, "") == cursor {
		return platforms.PollResult{Cursor: cursor}, nil
	}
	// Start again from the newest page; what was recorded already is deduplicated by id.
	return p.newest(ctx, a, link, creds, cv)
}

func (p *poller) newest(ctx context.Context, a *account, link platforms.Link, creds map[string]string, cv converter) (platforms.PollResult, error) {
	page, err := p.inbox(ctx, a, link, creds, url.Values{"limit": {strconv.Itoa(pageSize)}})
	if err != nil {
		return platforms.PollResult{}, err
	}
	return platforms.PollResult{Items: cv.items(oldestFirst(page)), Cursor: newestName(page, "")}, nil
}

// oldestFirst is a page's children in the order they happened (a listing is newest first), so
// a thread's first message is recorded first.
func oldestFirst(page listing) []thing {
	things := slices.Clone(page.Data.Children)
	slices.Reverse(things)
	return things
}

// newestName is the fullname of a page's first (newest) child, or def.
func newestName(page listing, def string) string {
	for _, th := range page.Data.Children {
		var m message
		if err := json.Unmarshal(th.Data, &m); err == nil && m.Name != "" {
			return m.Name
		}
	}
	return def
}

func (p *poller) account(linkID string) *account {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.accounts[linkID]
	if !ok {
		a = &account{}
		p.accounts[linkID] = a
	}
	return a
}

// inbox reads one page of /message/inbox, renewing the access token once if it is refused.
func (p *poller) inbox(ctx context.Context, a *account, link platforms.Link, creds map[string]string, q url.Values) (listing, error) {
	q.Set("mark", "false")
	q.Set("raw_json", "1")
	for attempt := 0; ; attempt++ {
		if err := p.token(ctx, a, link, creds); err != nil {
			return listing{}, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.oauth+"/message/inbox?"+q.Encode(), nil)
		if err != nil {
			return listing{}, err
		}
		req.Header.Set("Authorization", "bearer "+a.access)
		req.Header.Set("User-Agent", userAgent(link))
		var out listing
		_, err = pollhttp.Do(p.client, req, "message/inbox", &out)
		se, ok := pollhttp.AsStatus(err)
		switch {
		case ok && se.Status == http.StatusUnauthorized && attempt == 0:
			a.access = "" // expired or revoked: renew once
			continue
		case ok && se.Status == http.StatusUnauthorized:
			return listing{}, &platforms.AuthError{Reason: "Reddit refused the access token (401)"}
		case ok && se.Status == http.StatusForbidden:
			return listing{}, &platforms.AuthError{Reason: "Reddit refused access to private messages (403): the refresh token needs the privatemessages scope"}
		case err != nil:
			return listing{}, pollhttp.RateLimited(err, defaultRetryAfter)
		}
		return out, nil
	}
}

// token renews the access token with the refresh token (client id and secret as basic auth).
func (p *poller) token(ctx context.Context, a *account, link platforms.Link, creds map[string]string) error {
	if a.access != "" && time.Now().Before(a.expires) {
		return nil
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {creds[CredRefreshToken]}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.www+"/api/v1/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.SetBasicAuth(creds[CredClientID], creds[CredClientSecret])
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", userAgent(link))
	var out struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
		Scope       string  `json:"scope"`
		Error       string  `json:"error"`
	}
	_, err = pollhttp.Do(p.client, req, "api/v1/access_token", &out)
	if se, ok := pollhttp.AsStatus(err); ok {
		switch {
		case se.Status == http.StatusUnauthorized:
			return &platforms.AuthError{Reason: "Reddit refused the client id or secret (401)"}
		case se.Status == http.StatusBadRequest || se.Status == http.StatusForbidden:
			return &platforms.AuthError{Reason: "Reddit refused the refresh token (" + orStatus(se.Name, se.Status) + ")"}
		}
	}
	if err != nil {
		return pollhttp.RateLimited(err, defaultRetryAfter)
	}
	// Reddit may answer 200 with an OAuth error in the body.
	if out.Error != "" {
		return &platforms.AuthError{Reason: "Reddit refused the refresh token (" + out.Error + ")"}
	}
	if out.AccessToken == "" {
		return errors.New("api/v1/access_token: no access token in the response")
	}
	if out.Scope != "" && out.Scope != "*" && !strings.Contains(" "+out.Scope+" ", " privatemessages ") {
		return &platforms.AuthError{Reason: "the Reddit refresh token lacks the privatemessages scope"}
	}
	ttl := time.Duration(out.ExpiresIn * float64(time.Second))
	if ttl <= 0 {
		ttl = time.Hour
	}
	a.access, a.expires = out.AccessToken, time.Now().Add(max(ttl-tokenMargin, ttl/2))
	return nil
}

// userAgent follows Reddit's rule: platform:app id:version (by /u/username).
func userAgent(link platforms.Link) string {
	return "server:switchboard:v1 (by /u/" + link.PlatformID + ")"
}

func orStatus(name string, status int) string {
	if name != "" {
		return name
	}
	return "HTTP " + strconv.Itoa(status)
}

// credsDigest fingerprints the credentials in memory, to drop a token when they change.
func credsDigest(creds map[string]string) [sha256.Size]byte {
	return sha256.Sum256([]byte(creds[CredClientID] + "\x00" + creds[CredClientSecret] + "\x00" + creds[CredRefreshToken]))
}
