// Package reddittest is a fake Reddit for tests: the OAuth token endpoint and /message/inbox,
// serving the captured listing of the shared fixtures (fixtures/platforms/reddit) with
// Reddit's before/after slicing. A test can add newer messages, revoke the refresh token or
// rate-limit the inbox.
package reddittest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fixture account: PRAW sanitizes its name to "<USERNAME>", the dest of every message of
// the capture.
const (
	Username     = "<USERNAME>"
	ClientID     = "fake-client-id"
	ClientSecret = "fake-client-secret"
	RefreshToken = "fake-refresh-token"
	// Code is the authorization code the fake's authorization page grants.
	Code = "fake-authorization-code"
)

// Server is a fake Reddit (www and oauth on one address).
type Server struct {
	*httptest.Server

	mu           sync.Mutex
	inbox        []json.RawMessage // things, newest first
	names        []string
	tokens       map[string]bool // valid access tokens (the poller's and the sender's)
	seq          int
	revoked      bool
	limited      int
	requests     []Request
	sends        []Send
	faults       []Fault
	sent         int
	beforeAnswer func(name string)
	redirect     string // the redirect_uri the authorization page was given
	exchanges    int
}

// Send is a reply the fake received (/api/comment): its headers and form.
type Send struct {
	Authorization, UserAgent, ContentType string
	Form                                  map[string]string
}

// Fault is how the next replies are refused: an HTTP status with a body (and headers).
type Fault struct {
	Status int
	Header map[string]string
	Body   string
}

// Exchanges counts the authorization codes exchanged with the right client authentication
// (basic auth) and the redirect_uri the authorization page was given.
func (s *Server) Exchanges() int { s.mu.Lock(); defer s.mu.Unlock(); return s.exchanges }

// Request is a call the fake received.
type Request struct {
	Method, Path string
	Query        map[string]string
	UserAgent    string
}

// New starts the fake; its inbox is the unread listing capture of dir (fixtures/platforms/reddit).
func New(t testing.TB, dir string) *Server {
	t.Helper()
	s := &Server{tokens: map[string]bool{}}
	for _, th := range Things(t, filepath.Join(dir, "message_unread_listing.praw_cassette.json")) {
		s.inbox = append(s.inbox, th)
		s.names = append(s.names, name(t, th))
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Things reads the children of a captured Listing as an inbox lists them: each message on its
// own, the replies a thread's listing nests coming after their root (with "replies": "").
func Things(t testing.TB, path string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := flatten(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

func flatten(listing []byte) ([]json.RawMessage, error) {
	var l struct {
		Data struct {
			Children []struct {
				Kind string                     `json:"kind"`
				Data map[string]json.RawMessage `json:"data"`
			} `json:"children"`
		} `json:"data"`
	}
	if err := json.Unmarshal(listing, &l); err != nil {
		return nil, err
	}
	var out []json.RawMessage
	for _, c := range l.Data.Children {
		replies := c.Data["replies"]
		c.Data["replies"] = json.RawMessage(`""`)
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		if len(replies) > 0 && replies[0] == '{' {
			more, err := flatten(replies)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

func name(t testing.TB, th json.RawMessage) string {
	var v struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.Unmarshal(th, &v); err != nil || v.Data.Name == "" {
		t.Fatalf("a thing without a name: %s", th)
	}
	return v.Data.Name
}

// Receive puts things at the top of the inbox, newest last in the arguments.
func (s *Server) Receive(t testing.TB, things ...json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, th := range things {
		s.inbox = append([]json.RawMessage{th}, s.inbox...)
		s.names = append([]string{name(t, th)}, s.names...)
	}
}

// Newest is the fullname at the top of the inbox.
func (s *Server) Newest() string { s.mu.Lock(); defer s.mu.Unlock(); return s.names[0] }

// Revoke revokes the refresh token and every access token.
func (s *Server) Revoke() { s.mu.Lock(); s.revoked = true; clear(s.tokens); s.mu.Unlock() }

// ExpireToken ends the current access token (the refresh token still works).
func (s *Server) ExpireToken() { s.mu.Lock(); clear(s.tokens); s.mu.Unlock() }

// RateLimit makes the next n inbox reads answer 429.
func (s *Server) RateLimit(n int) { s.mu.Lock(); s.limited = n; s.mu.Unlock() }

// Requests returns the calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if answer := s.handle(w, r); answer != nil {
		answer() // outside the lock: the hook may wait for polls
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) (answer func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = r.ParseForm()
	q := map[string]string{}
	for k := range r.URL.Query() {
		q[k] = r.URL.Query().Get(k)
	}
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: q, UserAgent: r.UserAgent()})
	if r.UserAgent() == "" || r.UserAgent() == "Go-http-client/1.1" {
		http.Error(w, `{"message": "Too Many Requests", "error": 429}`, http.StatusTooManyRequests) // Reddit's answer to default agents
		return
	}
	switch r.URL.Path {
	case "/api/v1/authorize":
		// The member approves at once: the browser goes back to redirect_uri with a code.
		if q["client_id"] != ClientID || q["response_type"] != "code" || q["duration"] != "permanent" ||
			q["scope"] != "identity privatemessages" || q["state"] == "" || q["redirect_uri"] == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad authorization request", "error": 400})
			return
		}
		s.redirect = q["redirect_uri"]
		http.Redirect(w, r, q["redirect_uri"]+"?state="+url.QueryEscape(q["state"])+"&code="+Code, http.StatusFound)
	case "/api/v1/me":
		if !s.authorized(r) {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized", "error": 401})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"name": Username, "id": "1abc"})
	case "/api/v1/access_token":
		id, secret, ok := r.BasicAuth()
		switch {
		case r.Method != http.MethodPost || !ok || id != ClientID || secret != ClientSecret:
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized", "error": 401})
		case r.PostForm.Get("grant_type") == "authorization_code":
			if r.PostForm.Get("code") != Code || s.redirect == "" || r.PostForm.Get("redirect_uri") != s.redirect {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
				return
			}
			s.exchanges++
			s.seq++
			token := fmt.Sprintf("token-%d", s.seq)
			s.tokens[token] = true
			writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "bearer", "expires_in": 3600,
				"refresh_token": RefreshToken, "scope": "identity privatemessages"})
		case s.revoked || r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != RefreshToken:
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
		default:
			s.seq++
			token := fmt.Sprintf("token-%d", s.seq)
			s.tokens[token] = true
			writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "bearer", "expires_in": 86400,
				"scope": "identity privatemessages read"})
		}
	case "/message/inbox":
		if !s.authorized(r) {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized", "error": 401})
			return
		}
		if s.limited > 0 {
			s.limited--
			w.Header().Set("X-Ratelimit-Used", "100")
			w.Header().Set("X-Ratelimit-Remaining", "0.0")
			w.Header().Set("X-Ratelimit-Reset", "7")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too Many Requests", "error": 429})
			return
		}
		if q["mark"] != "false" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "this fake refuses to mark messages read", "error": 400})
			return
		}
		s.listing(w, q)
	case "/api/comment":
		return s.comment(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "error": 404})
	}
	return nil
}

// listing slices the inbox as Reddit does: after=X the items older than X, before=X the limit
// items just newer than X (an unknown X: nothing).
func (s *Server) listing(w http.ResponseWriter, q map[string]string) {
	limit, err := strconv.Atoi(q["limit"])
	if err != nil || limit <= 0 || limit > 100 {
		limit = 25
	}
	lo, hi := 0, len(s.inbox)
	switch {
	case q["before"] != "":
		i := slices.Index(s.names, q["before"])
		if i < 0 {
			i = 0
		}
		lo, hi = max(0, i-limit), i
	case q["after"] != "":
		i := slices.Index(s.names, q["after"])
		if i < 0 {
			i = len(s.names) - 1
		}
		lo = i + 1
	}
	hi = min(hi, lo+limit)
	var after any
	if hi < len(s.inbox) && hi > lo {
		after = s.names[hi-1]
	}
	w.Header().Set("X-Ratelimit-Used", "12")
	w.Header().Set("X-Ratelimit-Remaining", "88.0")
	w.Header().Set("X-Ratelimit-Reset", "29")
	writeJSON(w, http.StatusOK, map[string]any{"kind": "Listing", "data": map[string]any{
		"after": after, "before": nil, "dist": hi - lo, "modhash": nil, "geo_filter": "",
		"children": append([]json.RawMessage{}, s.inbox[lo:hi]...)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Sends returns the replies received so far (refused ones included).
func (s *Server) Sends() []Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sends)
}

// FailSends refuses the next replies, one fault each.
func (s *Server) FailSends(f ...Fault) { s.mu.Lock(); s.faults = append(s.faults, f...); s.mu.Unlock() }

// comment answers POST /api/comment on a message as Reddit does (the recorded PRAW answer's
// shape): the reply, a t4 by the account, joins its thread, where the inbox lists it.
func (s *Server) comment(w http.ResponseWriter, r *http.Request) func() {
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	s.sends = append(s.sends, Send{Authorization: r.Header.Get("Authorization"), UserAgent: r.UserAgent(),
		ContentType: r.Header.Get("Content-Type"), Form: form})
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method Not Allowed", "error": 405})
		return nil
	}
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized", "error": 401})
		return nil
	}
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return nil
	}
	i := slices.Index(s.names, form["thing_id"])
	if form["api_type"] != "json" || form["text"] == "" || i < 0 {
		writeJSON(w, http.StatusOK, map[string]any{"json": map[string]any{"errors": [][]string{
			{"DELETED_COMMENT", "that comment has been deleted", "parent"}}}})
		return nil
	}
	var parent struct {
		Data struct {
			Name, Author, Dest, Subject string
			FirstMessageName            *string `json:"first_message_name"`
		} `json:"data"`
	}
	_ = json.Unmarshal(s.inbox[i], &parent)
	root := parent.Data.Name
	if parent.Data.FirstMessageName != nil && *parent.Data.FirstMessageName != "" {
		root = *parent.Data.FirstMessageName
	}
	to := parent.Data.Author
	if to == Username {
		to = parent.Data.Dest
	}
	s.sent++
	id := fmt.Sprintf("zz%06d", s.sent)
	now := float64(time.Now().Unix())
	th, _ := json.Marshal(map[string]any{"kind": "t4", "data": map[string]any{
		"first_message_name": root, "subreddit": nil, "replies": "", "id": id, "subject": "re: " + parent.Data.Subject,
		"author": Username, "parent_id": form["thing_id"], "new": false, "type": "unknown", "body": form["text"], "dest": to,
		"was_comment": false, "name": "t4_" + id, "created": now, "created_utc": now, "context": "", "distinguished": nil}})
	s.inbox = append([]json.RawMessage{th}, s.inbox...)
	s.names = append([]string{"t4_" + id}, s.names...)
	hook := s.beforeAnswer
	return func() {
		if hook != nil {
			hook("t4_" + id)
		}
		writeJSON(w, http.StatusOK, map[string]any{"json": map[string]any{"errors": []any{},
			"data": map[string]any{"things": []json.RawMessage{th}}}})
	}
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "bearer") && s.tokens[token]
}

// PolledPast reports whether the poller has read the inbox past the message name (an inbox
// read from it or a newer message on: what it brought is recorded).
func (s *Server) PolledPast(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.names, name)
	if i < 0 {
		return false
	}
	for _, r := range s.requests {
		if j := slices.Index(s.names, r.Query["before"]); r.Path == "/message/inbox" && j >= 0 && j <= i {
			return true
		}
	}
	return false
}

// BeforeAnswer sets a hook run after a sent message is in place (where the poller will read
// it) and before the answer; nil removes it.
func (s *Server) BeforeAnswer(f func(name string)) { s.mu.Lock(); s.beforeAnswer = f; s.mu.Unlock() }
