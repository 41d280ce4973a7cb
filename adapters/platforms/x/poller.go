package x

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// DefaultBaseURL is X's API.
const DefaultBaseURL = "https://api.x.com"

const (
	dmEventsPath = "/2/dm_events"
	// maxResponse bounds a page of 100 events with their includes.
	maxResponse = 16 << 20
	// rateWindow is X's rate-limit window: the wait when a 429 names no reset.
	rateWindow = 15 * time.Minute
)

// dmQuery asks for every field the items need (X's default is only id, event_type, text).
var dmQuery = url.Values{
	"dm_event.fields": {"id,text,event_type,dm_conversation_id,created_at,sender_id,participant_ids,attachments,referenced_tweets"},
	"expansions":      {"sender_id,participant_ids,attachments.media_keys"},
	"user.fields":     {"name,username,profile_image_url"},
	"media.fields":    {"media_key,type,url,preview_image_url,variants"},
	"max_results":     {"100"},
}

// errBadRequest is X's 400.
var errBadRequest = errors.New("bad request")

type poller struct {
	base   string
	client *http.Client
	now    func() time.Time
}

// NewPoller returns v2 DM polling (GET /2/dm_events, every conversation of the user).
//
// X pages dm_events newest first, with no "since" parameter, so the cursor records a
// watermark, w: every event id at or below it is recorded. A poll reads the newest page and
// keeps the events above w; when the page does not reach down to w, the cursor also keeps the
// next page's token (p) and the newest id seen (t), and asks for the next poll at once: each
// page is one poll, recorded before the cursor moves on, and when a page reaches w the
// watermark becomes t. A restart resumes mid-catch-up without a gap; an expired page token
// restarts the catch-up from the newest page (repeats are deduplicated by id). The first poll
// of a link records the newest page only (up to 100 events; X keeps 30 days).
func NewPoller(baseURLs platforms.BaseURLs, client *http.Client) platforms.Poller {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &poller{base: baseURLs.Get(domain.PlatformX.String(), DefaultBaseURL), client: client, now: time.Now}
}

func (*poller) Platform() domain.Platform { return domain.PlatformX }

// Limit: the DM lookup endpoints allow 15 requests per 15 minutes per user.
func (*poller) Limit() (rate.Limit, int) { return rate.Every(time.Minute), 1 }

func (p *poller) Poll(ctx context.Context, link platforms.Link, creds map[string]string, cursor string) (platforms.PollResult, error) {
	st, err := parseCursor(cursor)
	if err != nil {
		return platforms.PollResult{}, err
	}
	q := url.Values{}
	for k, v := range dmQuery {
		q[k] = v
	}
	if st.page != "" {
		q.Set("pagination_token", st.page)
	}
	body, err := p.get(ctx, dmEventsPath, q, creds)
	if errors.Is(err, errBadRequest) && st.page != "" {
		return platforms.PollResult{Cursor: dmCursor{w: st.w}.String(), More: true}, nil
	}
	if err != nil {
		return platforms.PollResult{}, err
	}
	page, err := parseDMEvents(body, link)
	if err != nil {
		return platforms.PollResult{}, err
	}
	return advance(st, page), nil
}

// advance keeps a page's events above the watermark, oldest first, and moves the cursor.
func advance(st dmCursor, page dmPage) platforms.PollResult {
	top := st.top
	reached := st.w == "" || page.next == ""
	var items []domain.PlatformItem
	for _, e := range page.events {
		if st.page == "" && cmpID(e.id, top) > 0 {
			top = e.id
		}
		if st.w != "" && cmpID(e.id, st.w) <= 0 {
			reached = true
			continue
		}
		items = append(items, e.item)
	}
	slices.Reverse(items)
	if !reached {
		return platforms.PollResult{Items: items, Cursor: dmCursor{w: st.w, top: top, page: page.next}.String(), More: true}
	}
	w := st.w
	if cmpID(top, w) > 0 {
		w = top
	}
	return platforms.PollResult{Items: items, Cursor: dmCursor{w: w}.String()}
}

// get calls X with the link's user credentials and maps refusals to the scheduler's errors.
func (p *poller) get(ctx context.Context, path string, q url.Values, creds map[string]string) ([]byte, error) {
	auth, err := p.authorization(http.MethodGet, p.base+path, q, creds)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("x GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("x GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("x GET %s: reading the response: %w", path, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusUnauthorized:
		return nil, &platforms.AuthError{Reason: "X refused the account's credentials (401 Unauthorized)"}
	case http.StatusForbidden:
		return nil, &platforms.AuthError{Reason: "X refused access to the account's direct messages (403 Forbidden): " +
			"polling needs user-context credentials with the dm.read, tweet.read and users.read scopes"}
	case http.StatusTooManyRequests:
		return nil, &platforms.RetryAfter{After: p.retryAfter(resp.Header)}
	case http.StatusBadRequest:
		var pr problem
		_ = json.Unmarshal(body, &pr)
		return nil, fmt.Errorf("x GET %s: %w: %s", path, errBadRequest, pr)
	}
	return nil, fmt.Errorf("x GET %s: %s", path, resp.Status)
}

// retryAfter reads x-rate-limit-reset (Unix seconds at which the window reopens), else
// Retry-After, else waits a whole window.
func (p *poller) retryAfter(h http.Header) time.Duration {
	if reset, err := strconv.ParseInt(h.Get("x-rate-limit-reset"), 10, 64); err == nil {
		return max(time.Unix(reset, 0).Sub(p.now()), time.Second)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return rateWindow
}

// authorization prefers a user-context bearer token, else signs with OAuth 1.0a.
func (p *poller) authorization(method, rawURL string, q url.Values, creds map[string]string) (string, error) {
	if t := creds[CredBearerToken]; t != "" {
		return "Bearer " + t, nil
	}
	ck, cs, at, as := creds[CredConsumerKey], creds[CredConsumerSecret], creds[CredAccessToken], creds[CredAccessTokenSecret]
	if ck == "" || cs == "" || at == "" || as == "" {
		return "", &platforms.AuthError{Reason: "polling X needs consumer_key, consumer_secret, access_token and access_token_secret, " +
			"or a user-context bearer_token"}
	}
	return oauth1Header(method, rawURL, q, ck, cs, at, as, strconv.FormatInt(p.now().Unix(), 10), newNonce()), nil
}

// dmCursor is the polling position: w the watermark, and during a catch-up t the newest id
// seen and p the next page's token.
type dmCursor struct{ w, top, page string }

func (c dmCursor) String() string {
	v := url.Values{}
	for k, s := range map[string]string{"w": c.w, "t": c.top, "p": c.page} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

func parseCursor(s string) (dmCursor, error) {
	v, err := url.ParseQuery(s)
	c := dmCursor{w: v.Get("w"), top: v.Get("t"), page: v.Get("p")}
	if err != nil || !digits(c.w) || !digits(c.top) || (c.page != "" && c.top == "") {
		return dmCursor{}, fmt.Errorf("x: cursor %q is not a dm_events position", s)
	}
	return c, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
