// Package bluesky polls Bluesky direct messages (chat.bsky.convo.*): there are no webhooks.
// Each account signs in to its PDS with an app password; chat calls go through the PDS with
// the atproto-proxy header naming the chat service.
package bluesky

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/pollhttp"
	"github.com/switchboard-oss/switchboard/domain"
)

// DefaultBaseURL is the PDS entryway of accounts hosted by bsky.social.
const DefaultBaseURL = "https://bsky.social"

// ChatProxy is the atproto-proxy header of chat calls: the chat service's DID and service id.
const ChatProxy = "did:web:api.bsky.chat#bsky_chat"

// Credential keys of a Bluesky account link (LinkAccount platform_id is the account's DID).
const (
	CredIdentifier  = "identifier"   // handle, DID or email
	CredAppPassword = "app_password" // an app password allowed to access direct messages
)

const (
	// backfillConvos and backfillMessages bound the first poll's backfill: the most recent
	// convos, and the most recent messages of each.
	backfillConvos   = 50
	backfillMessages = 50
	// defaultRetryAfter is the wait after a 429 that names none; a refused createSession
	// (30 per 5 minutes per account) waits longer.
	defaultRetryAfter = 30 * time.Second
	sessionRetryAfter = 5 * time.Minute
	// maxConvos bounds an account's cache of convo members.
	maxConvos = 5000
)

type poller struct {
	base   string
	client *http.Client

	mu       sync.Mutex
	accounts map[string]*account // by account link id
}

// account is one link's session and what it learned of its convos; memory only, never
// logged. Its mutex serializes the link's polls.
type account struct {
	mu      sync.Mutex
	creds   [sha256.Size]byte // the credentials the session was opened with
	did     string
	access  string
	refresh string
	convos  map[string]convo
}

// NewPoller returns Bluesky's poller. The base URL ("bluesky") is the PDS (default
// bsky.social). A nil client gets a default one.
//
// Cursor: a small JSON object, {"log": "<getLog cursor>", "backfill": [convo ids still to
// backfill]}. The first poll reads the log's head first (getLog without a cursor starts "now"),
// then lists the most recent convos; the next polls fetch each one's recent messages, then
// follow the log from that head: whatever happens during the backfill is in the log after the
// head, and the overlap is deduplicated by message ids, so there is no gap.
func NewPoller(baseURLs platforms.BaseURLs, client *http.Client) platforms.Poller {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &poller{base: strings.TrimRight(baseURLs.Get(domain.PlatformBluesky.String(), DefaultBaseURL), "/"),
		client: client, accounts: map[string]*account{}}
}

func (*poller) Platform() domain.Platform { return domain.PlatformBluesky }

// Limit: Bluesky publishes no chat limit; a poll costs one or two requests.
func (*poller) Limit() (rate.Limit, int) { return rate.Every(time.Second), 3 }

// SharedLimit: the PDS allows 3000 requests per 5 minutes per client IP, for every account
// together: at most 5 polls a second (10 requests) for all of them.
func (*poller) SharedLimit() (rate.Limit, int) { return 5, 10 }

// cursorState is the stored cursor.
type cursorState struct {
	Log      string   `json:"log"`
	Backfill []string `json:"backfill,omitempty"`
}

func decodeCursor(s string) cursorState {
	var st cursorState
	if s == "" {
		return st
	}
	if json.Unmarshal([]byte(s), &st) != nil {
		st = cursorState{Log: s} // a bare getLog cursor
	}
	return st
}

func (st cursorState) String() string {
	b, _ := json.Marshal(st)
	return string(b)
}

func (p *poller) Poll(ctx context.Context, link platforms.Link, creds map[string]string, cursor string) (platforms.PollResult, error) {
	if creds[CredIdentifier] == "" || creds[CredAppPassword] == "" {
		return platforms.PollResult{}, &platforms.AuthError{Reason: "the account link has no Bluesky identifier or app_password"}
	}
	a := p.account(link.ID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := credsDigest(creds); d != a.creds {
		// New credentials (a relink): the old session is not theirs.
		a.creds, a.did, a.access, a.refresh = d, "", "", ""
	}
	st := decodeCursor(cursor)
	switch {
	case st.Log == "":
		return p.start(ctx, a, link, creds)
	case len(st.Backfill) > 0:
		return p.backfill(ctx, a, link, creds, st)
	}
	return p.follow(ctx, a, link, creds, st)
}

func (p *poller) account(linkID string) *account {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.accounts[linkID]
	if !ok {
		a = &account{convos: map[string]convo{}}
		p.accounts[linkID] = a
	}
	return a
}

type getLogOutput struct {
	Cursor string            `json:"cursor"`
	Logs   []json.RawMessage `json:"logs"`
}

// start reads the log's head, then lists the convos to backfill.
func (p *poller) start(ctx context.Context, a *account, link platforms.Link, creds map[string]string) (platforms.PollResult, error) {
	var head getLogOutput
	if err := p.get(ctx, a, creds, "chat.bsky.convo.getLog", nil, &head); err != nil {
		return platforms.PollResult{}, err
	}
	var list struct {
		Convos []convoView `json:"convos"`
	}
	q := url.Values{"limit": {strconv.Itoa(backfillConvos)}}
	if err := p.get(ctx, a, creds, "chat.bsky.convo.listConvos", q, &list); err != nil {
		return platforms.PollResult{}, err
	}
	st := cursorState{Log: head.Cursor}
	for _, c := range list.Convos {
		a.remember(c.ID, convoOf(c))
		st.Backfill = append(st.Backfill, c.ID)
	}
	// Logs are not expected at the head; if some came, they are news.
	items, err := p.logItems(ctx, a, link, creds, head.Logs)
	if err != nil {
		return platforms.PollResult{}, err
	}
	if st.Log == "" {
		// No log yet (an account without any chat): start again next time, backfill included,
		// so nothing that happens meanwhile is missed.
		return platforms.PollResult{Items: items}, nil
	}
	return platforms.PollResult{Items: items, Cursor: st.String(), More: len(st.Backfill) > 0}, nil
}

// backfill fetches the recent messages of the next convo to backfill.
func (p *poller) backfill(ctx context.Context, a *account, link platforms.Link, creds map[string]string, st cursorState) (platforms.PollResult, error) {
	id := st.Backfill[0]
	next := cursorState{Log: st.Log, Backfill: st.Backfill[1:]}
	var page struct {
		Messages        []json.RawMessage `json:"messages"`
		RelatedProfiles []profile         `json:"relatedProfiles"`
	}
	q := url.Values{"convoId": {id}, "limit": {strconv.Itoa(backfillMessages)}}
	err := p.get(ctx, a, creds, "chat.bsky.convo.getMessages", q, &page)
	if isInvalidConvo(err) {
		return platforms.PollResult{Cursor: next.String(), More: true}, nil // gone since listed
	}
	if err != nil {
		return platforms.PollResult{}, err
	}
	if err := p.learnConvos(ctx, a, creds, []string{id}); err != nil {
		return platforms.PollResult{}, err
	}
	cv := converter{self: a.self(link), convos: a.convos}
	return platforms.PollResult{Items: cv.messageItems(id, page.Messages, page.RelatedProfiles), Cursor: next.String(), More: true}, nil
}

// follow reads the log after the cursor.
func (p *poller) follow(ctx context.Context, a *account, link platforms.Link, creds map[string]string, st cursorState) (platforms.PollResult, error) {
	var out getLogOutput
	if err := p.get(ctx, a, creds, "chat.bsky.convo.getLog", url.Values{"cursor": {st.Log}}, &out); err != nil {
		return platforms.PollResult{}, err
	}
	items, err := p.logItems(ctx, a, link, creds, out.Logs)
	if err != nil {
		return platforms.PollResult{}, err
	}
	next := cursorState{Log: out.Cursor}
	if next.Log == "" {
		next.Log = st.Log
	}
	// A page of logs may have more behind it: ask again at once until one comes back empty.
	return platforms.PollResult{Items: items, Cursor: next.String(), More: len(out.Logs) > 0 && next.Log != st.Log}, nil
}

func (p *poller) logItems(ctx context.Context, a *account, link platforms.Link, creds map[string]string, logs []json.RawMessage) ([]domain.PlatformItem, error) {
	if len(logs) == 0 {
		return nil, nil
	}
	var ids []string
	for _, raw := range logs {
		var e logEntry
		if json.Unmarshal(raw, &e) == nil && e.ConvoID != "" && (e.Type == typeLogCreateMessage || e.Type == typeLogDeleteMessage) {
			ids = append(ids, e.ConvoID)
		}
	}
	if err := p.learnConvos(ctx, a, creds, ids); err != nil {
		return nil, err
	}
	return converter{self: a.self(link), convos: a.convos}.logItems(logs)
}

// learnConvos fetches the members of convos not seen yet (getConvo); a convo the account can
// no longer read is remembered as unknown.
func (p *poller) learnConvos(ctx context.Context, a *account, creds map[string]string, ids []string) error {
	for _, id := range ids {
		if _, ok := a.convos[id]; ok {
			continue
		}
		var out struct {
			Convo convoView `json:"convo"`
		}
		err := p.get(ctx, a, creds, "chat.bsky.convo.getConvo", url.Values{"convoId": {id}}, &out)
		switch {
		case isInvalidConvo(err):
			a.remember(id, convo{})
		case err != nil:
			return err
		default:
			a.remember(id, convoOf(out.Convo))
		}
	}
	return nil
}

func (a *account) remember(id string, c convo) {
	if len(a.convos) >= maxConvos {
		a.convos = map[string]convo{}
	}
	a.convos[id] = c
}

// self is the account's DID: the session's, else the link's platform id.
func (a *account) self(link platforms.Link) string {
	if a.did != "" {
		return a.did
	}
	return link.PlatformID
}

func isInvalidConvo(err error) bool {
	se, ok := pollhttp.AsStatus(err)
	return ok && se.Status == http.StatusBadRequest && se.Name == "InvalidConvo"
}

// ---- sessions and XRPC ----

type sessionOutput struct {
	AccessJwt  string `json:"accessJwt"`
	RefreshJwt string `json:"refreshJwt"`
	DID        string `json:"did"`
	Active     *bool  `json:"active"`
	Status     string `json:"status"`
}

// get calls a chat query with the account's session, opening or refreshing it as needed.
func (p *poller) get(ctx context.Context, a *account, creds map[string]string, nsid string, q url.Values, out any) error {
	return p.chat(ctx, a, creds, http.MethodGet, nsid, q, nil, out)
}

// chat calls a chat method (a query, or a procedure with its body) with the account's
// session, opening or refreshing it as needed.
func (p *poller) chat(ctx context.Context, a *account, creds map[string]string, method, nsid string, q url.Values, body, out any) error {
	for attempt := 0; ; attempt++ {
		if a.access == "" {
			if err := p.createSession(ctx, a, creds); err != nil {
				return err
			}
		}
		err := p.xrpc(ctx, method, nsid, q, body, a.access, true, out)
		se, ok := pollhttp.AsStatus(err)
		if !ok || !tokenRefused(se) {
			return pollhttp.RateLimited(err, defaultRetryAfter)
		}
		if attempt > 0 {
			// A fresh session refused: the app password may not access direct messages.
			a.access = ""
			return &platforms.AuthError{Reason: "Bluesky refused the session for direct messages (" + se.Name +
				"): the app password must allow access to direct messages"}
		}
		// The access token expired: refresh it, else sign in again.
		if err := p.refreshSession(ctx, a); err != nil {
			if _, limited := platforms.IsRetryAfter(err); limited {
				return err
			}
			a.access, a.refresh = "", ""
		}
	}
}

func tokenRefused(se *pollhttp.StatusError) bool {
	return se.Name == "ExpiredToken" || se.Name == "InvalidToken" || se.Status == http.StatusUnauthorized
}

// createSession signs in with the app password (30 per 5 minutes per account: sessions are
// kept and refreshed rather than reopened).
func (p *poller) createSession(ctx context.Context, a *account, creds map[string]string) error {
	var out sessionOutput
	err := p.xrpc(ctx, http.MethodPost, "com.atproto.server.createSession", nil,
		map[string]string{"identifier": creds[CredIdentifier], "password": creds[CredAppPassword]}, "", false, &out)
	if se, ok := pollhttp.AsStatus(err); ok {
		switch {
		case se.Status == http.StatusTooManyRequests:
			return pollhttp.RateLimited(err, sessionRetryAfter)
		case se.Name == "AuthFactorTokenRequired":
			return &platforms.AuthError{Reason: "Bluesky asks for a sign-in code: link the account with an app password"}
		case se.Name == "AccountTakedown":
			return &platforms.AuthError{Reason: "Bluesky has taken the account down (AccountTakedown)"}
		case se.Status == http.StatusUnauthorized || se.Status == http.StatusBadRequest:
			reason := "Bluesky refused the identifier or app password"
			if se.Name != "" {
				reason += " (" + se.Name + ")"
			}
			return &platforms.AuthError{Reason: reason}
		}
	}
	if err != nil {
		return err
	}
	if out.Active != nil && !*out.Active {
		return &platforms.AuthError{Reason: "the Bluesky account is not active (" + orUnknown(out.Status) + ")"}
	}
	if out.AccessJwt == "" {
		return errors.New("com.atproto.server.createSession: no access token in the response")
	}
	a.access, a.refresh, a.did = out.AccessJwt, out.RefreshJwt, out.DID
	return nil
}

func (p *poller) refreshSession(ctx context.Context, a *account) error {
	if a.refresh == "" {
		return errors.New("no refresh token")
	}
	var out sessionOutput
	err := p.xrpc(ctx, http.MethodPost, "com.atproto.server.refreshSession", nil, nil, a.refresh, false, &out)
	if err != nil {
		return pollhttp.RateLimited(err, defaultRetryAfter)
	}
	if out.AccessJwt == "" {
		return errors.New("com.atproto.server.refreshSession: no access token in the response")
	}
	a.access, a.refresh = out.AccessJwt, out.RefreshJwt
	if out.DID != "" {
		a.did = out.DID
	}
	return nil
}

// xrpc calls one XRPC method of the PDS; chat calls are proxied to the chat service.
func (p *poller) xrpc(ctx context.Context, method, nsid string, q url.Values, body any, bearer string, chat bool, out any) error {
	u := p.base + "/xrpc/" + nsid
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if chat {
		req.Header.Set("Atproto-Proxy", ChatProxy)
	}
	_, err = pollhttp.Do(p.client, req, nsid, out)
	return err
}

// credsDigest fingerprints the credentials in memory, to drop a session when they change.
func credsDigest(creds map[string]string) [sha256.Size]byte {
	return sha256.Sum256([]byte(creds[CredIdentifier] + "\x00" + creds[CredAppPassword]))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown status"
	}
	return s
}
