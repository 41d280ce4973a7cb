package profiles

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
	redactpkg "github.com/switchboard-oss/switchboard/internal/redact"
)

// Graph API defaults.
const (
	// DefaultGraphBaseURL is Meta's Graph API host for Messenger and for Instagram messaging
	// through a Facebook Page (Facebook Login).
	DefaultGraphBaseURL = "https://graph.facebook.com"
	// DefaultGraphVersion is the Graph API version profiles are read with.
	DefaultGraphVersion = "v25.0"
	// maxGraphBody bounds a profile response; a profile is a few hundred bytes.
	maxGraphBody = 1 << 20
	// defaultRetryAfter is the pause when Meta rate-limits without saying for how long.
	defaultRetryAfter = time.Minute
)

// GraphConfig configures the Graph API fetchers.
type GraphConfig struct {
	// BaseURLs overrides the API host per platform ("messenger", "instagram").
	BaseURLs platforms.BaseURLs
	// Version is the Graph API version (default DefaultGraphVersion).
	Version string
	// Client makes the requests (default: a client with a 15s timeout). The reactor bounds
	// each fetch with its own, shorter timeout as well.
	Client *http.Client
}

// GraphFetchers returns the Messenger and Instagram fetchers.
func GraphFetchers(c GraphConfig) []Fetcher {
	return []Fetcher{NewMessengerFetcher(c), NewInstagramFetcher(c)}
}

// NewMessengerFetcher reads a PSID's profile with the User Profile API:
// GET /{version}/{psid}?fields=first_name,last_name,profile_pic with the Page access token.
func NewMessengerFetcher(c GraphConfig) *GraphFetcher {
	return newGraphFetcher(c, domain.PlatformMessenger, "first_name,last_name,profile_pic",
		func(p graphProfile) domain.Participant {
			return domain.Participant{DisplayName: strings.TrimSpace(p.FirstName + " " + p.LastName), AvatarURL: p.ProfilePic}
		})
}

// NewInstagramFetcher reads an IGSID's profile with the Instagram User Profile API:
// GET /{version}/{igsid}?fields=name,username,profile_pic with the Page access token
// (username needs Graph v14.0 or later; name and profile_pic may be null).
func NewInstagramFetcher(c GraphConfig) *GraphFetcher {
	return newGraphFetcher(c, domain.PlatformInstagram, "name,username,profile_pic",
		func(p graphProfile) domain.Participant {
			return domain.Participant{DisplayName: strings.TrimSpace(p.Name), Username: p.Username, AvatarURL: p.ProfilePic}
		})
}

// GraphFetcher reads profiles from Meta's Graph API. Messenger and Instagram differ only in
// the fields they ask for and how those map to a participant.
type GraphFetcher struct {
	platform domain.Platform
	base     string
	version  string
	fields   string
	client   *http.Client
	decode   func(graphProfile) domain.Participant
}

func newGraphFetcher(c GraphConfig, p domain.Platform, fields string, decode func(graphProfile) domain.Participant) *GraphFetcher {
	version := c.Version
	if version == "" {
		version = DefaultGraphVersion
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return &GraphFetcher{platform: p, base: strings.TrimRight(c.BaseURLs.Get(p.String(), DefaultGraphBaseURL), "/"),
		version: version, fields: fields, client: client, decode: decode}
}

// Platform is Messenger or Instagram.
func (g *GraphFetcher) Platform() domain.Platform { return g.platform }

// Limit is our own budget: Meta publishes no per-second figure for the User Profile APIs (the
// Messenger budget is 200 calls per engaged user per 24 hours, per Page), and each prospect
// is fetched at most once per cache TTL, so 10 requests a second per platform stays far below.
func (g *GraphFetcher) Limit() (rate.Limit, int) { return 10, 10 }

// graphProfile is the union of the fields both platforms answer with.
type graphProfile struct {
	ID         string `json:"id"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Name       string `json:"name"`
	Username   string `json:"username"`
	ProfilePic string `json:"profile_pic"`
}

// Fetch reads the person's profile. The Page access token travels in the Authorization header,
// never in the URL, so no transport error (which quotes the URL) can carry it.
func (g *GraphFetcher) Fetch(ctx context.Context, _ platforms.Link, creds map[string]string, id string) (domain.Participant, error) {
	token := creds["access_token"]
	if token == "" {
		return domain.Participant{}, &platforms.AuthError{Reason: "no access_token in the account's credentials"}
	}
	if !validGraphID(id) {
		return domain.Participant{}, fmt.Errorf("%s profile: %q is not a Graph id", g.platform, id)
	}
	q := url.Values{"fields": {g.fields}}
	secrets := []string{token}
	if secret := creds["app_secret"]; secret != "" {
		// Apps that "Require App Secret" refuse calls without the proof; others ignore it.
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(token))
		proof := hex.EncodeToString(mac.Sum(nil))
		q.Set("appsecret_proof", proof)
		secrets = append(secrets, secret, proof)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/"+g.version+"/"+url.PathEscape(id)+"?"+q.Encode(), nil)
	if err != nil {
		return domain.Participant{}, fmt.Errorf("%s profile: bad Graph base URL", g.platform)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	res, err := g.client.Do(req)
	if err != nil {
		// *url.Error quotes the URL (with the proof); keep only the cause, scrubbed.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return domain.Participant{}, fmt.Errorf("%s profile: Graph API unreachable: %s", g.platform, redact(err.Error(), secrets))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxGraphBody))
	if err != nil {
		return domain.Participant{}, fmt.Errorf("%s profile: reading the Graph API's answer: %s", g.platform, redact(err.Error(), secrets))
	}
	if res.StatusCode != http.StatusOK {
		return domain.Participant{}, graphFailure(g.platform, res, body, secrets)
	}
	var p graphProfile
	if err := json.Unmarshal(body, &p); err != nil {
		return domain.Participant{}, fmt.Errorf("%s profile: the Graph API answered %d bytes that are not a profile", g.platform, len(body))
	}
	out := g.decode(p)
	out.PlatformID = id
	return out, nil
}

// validGraphID accepts Graph node ids (PSIDs and IGSIDs are numeric strings) and refuses
// anything that could change the request's path.
func validGraphID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// GraphError is a refusal of the Graph API that is neither an auth nor a rate-limit problem,
// e.g. code 230 "User consent is required to access user profile" or a person who blocked the
// business: the profile of that one person is unavailable. Message never holds a credential.
type GraphError struct {
	Platform      domain.Platform
	Status        int
	Code, Subcode int
	Type          string
	Message       string
	TraceID       string
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("%s profile: Graph API %d: code %d/%d %s: %s (fbtrace_id %s)",
		e.Platform, e.Status, e.Code, e.Subcode, e.Type, e.Message, e.TraceID)
}

// graphErrorBody is Meta's error envelope.
type graphErrorBody struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    int    `json:"code"`
		Subcode int    `json:"error_subcode"`
		TraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

// graphFailure classifies a non-200 answer (Graph API "Handling Errors" and Messenger error
// codes): throttling → *platforms.RetryAfter, refused credentials → *platforms.AuthError,
// anything else → *GraphError.
func graphFailure(p domain.Platform, res *http.Response, body []byte, secrets []string) error {
	var b graphErrorBody
	_ = json.Unmarshal(body, &b)
	ge := b.Error
	msg := redact(ge.Message, secrets)
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	switch {
	case res.StatusCode == http.StatusTooManyRequests || rateLimitCode(ge.Code):
		return &platforms.RetryAfter{After: retryAfter(res.Header)}
	case authCode(ge.Code), ge.Code == 0 && (res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden):
		reason := fmt.Sprintf("%s Graph API refused the access token (HTTP %d, code %d)", p, res.StatusCode, ge.Code)
		if ge.Subcode != 0 {
			reason += fmt.Sprintf(", subcode %d", ge.Subcode)
		}
		return &platforms.AuthError{Reason: reason}
	}
	return &GraphError{Platform: p, Status: res.StatusCode, Code: ge.Code, Subcode: ge.Subcode, Type: ge.Type,
		Message: msg, TraceID: ge.TraceID}
}

// rateLimitCode: 4 app, 17 user, 32 Page, 613 custom-level throttling; 80000-80014 Business Use
// Case limits (80001 Pages, 80002 Instagram, 80006 Messenger), which Page tokens are under.
func rateLimitCode(code int) bool {
	return code == 4 || code == 17 || code == 32 || code == 613 || code >= 80000 && code <= 80014
}

// authCode: 190 token expired or invalid, 102 session, 10 and 200-299 permission missing or
// removed, except 230 ("User consent is required to access user profile"), which is about one
// person, not the link.
func authCode(code int) bool {
	return code == 190 || code == 102 || code == 10 || code >= 200 && code <= 299 && code != 230
}

// retryAfter reads how long to wait: Retry-After, or the longest estimated_time_to_regain_access
// (minutes) of X-Business-Use-Case-Usage, or a default.
func retryAfter(h http.Header) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := time.Until(t); d > 0 {
				return d
			}
		}
	}
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var usage map[string][]struct {
			Minutes int `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &usage) == nil {
			longest := 0
			for _, entries := range usage {
				for _, e := range entries {
					longest = max(longest, e.Minutes)
				}
			}
			if longest > 0 {
				return time.Duration(longest) * time.Minute
			}
		}
	}
	return defaultRetryAfter
}

// redact removes every secret from s: Meta's messages may quote what they were sent.
func redact(s string, secrets []string) string { return redactpkg.Secrets(s, secrets...) }
