// Package blueskytest is a fake Bluesky PDS for tests: it serves the captured responses of
// the shared fixtures (fixtures/platforms/bluesky) through the XRPC endpoints the poller
// calls, checks sessions and the chat proxy header like the real service, and lets a test
// add log entries, expire tokens or revoke the app password.
package blueskytest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixture account: the DID that is a member of every convo of the capture (bot.idunno.blue).
const (
	DID         = "did:plc:ec72yg6n2sydzjvtovvdlxrk"
	Identifier  = "bot.idunno.blue"
	AppPassword = "abcd-efgh-ijkl-mnop"
	// Head is the cursor getLog answers without a cursor: before every captured entry, so the
	// whole capture is news to a poller that starts there.
	Head = "2222222222222"
	// CapturedCursor is the capture's own cursor (its last entry's rev).
	CapturedCursor = "2222224ssuhx3"
)

const chatProxy = "did:web:api.bsky.chat#bsky_chat"

// Server is a fake PDS.
type Server struct {
	*httptest.Server

	mu           sync.Mutex
	logs         []json.RawMessage // in rev order
	revs         []string
	listing      json.RawMessage // listConvos' captured response
	convos       map[string]json.RawMessage
	access       map[string]bool // valid sessions (a PDS keeps many: the poller's, the sender's)
	refresh      map[string]bool
	sessions     int
	expire       bool
	revoked      bool
	requests     []Request
	tokenSeq     int
	failChats    int // the next n chat calls answer 500
	sends        []Send
	faults       []Fault
	msgSeq       int
	sentRevs     map[string]string // the rev of each message sent here
	beforeAnswer func(messageID string)
}

// Send is a sendMessage call the fake received: its authorization and body.
type Send struct {
	Authorization, Proxy string
	Body                 []byte
}

// Fault is how the next sendMessage calls are refused (an XRPC error), before any is accepted.
type Fault struct {
	Status     int
	Name, Msg  string
	RetryAfter string // a Retry-After header, or ""
}

// Request is a call the fake received.
type Request struct {
	Method, NSID string
	Query        map[string]string
}

// New starts the fake on the fixtures in dir (fixtures/platforms/bluesky).
func New(t testing.TB, dir string) *Server {
	t.Helper()
	var log struct {
		Logs []json.RawMessage `json:"logs"`
	}
	readJSON(t, filepath.Join(dir, "getLog.response.idunno_capture.json"), &log)
	s := &Server{convos: map[string]json.RawMessage{}, access: map[string]bool{}, refresh: map[string]bool{}}
	for _, l := range log.Logs {
		s.add(t, l)
	}
	b, err := os.ReadFile(filepath.Join(dir, "listConvos.response.idunno_capture.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.listing = b
	var list struct {
		Convos []json.RawMessage `json:"convos"`
	}
	readJSON(t, filepath.Join(dir, "listConvos.response.idunno_capture.json"), &list)
	for _, c := range list.Convos {
		var v struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(c, &v)
		s.convos[v.ID] = c
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func (s *Server) add(t testing.TB, entry json.RawMessage) {
	var e struct {
		Rev string `json:"rev"`
	}
	if err := json.Unmarshal(entry, &e); err != nil || e.Rev == "" {
		t.Fatalf("log entry without a rev: %s", entry)
	}
	s.logs = append(s.logs, entry)
	s.revs = append(s.revs, e.Rev)
}

// AddLog appends a log entry (its rev must sort after every other).
func (s *Server) AddLog(t testing.TB, entry string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(t, json.RawMessage(entry))
}

// ExpireTokens makes the current access token expired: the next chat call answers
// ExpiredToken, as the PDS does after about two hours.
func (s *Server) ExpireTokens() { s.mu.Lock(); s.expire = true; s.mu.Unlock() }

// Revoke revokes the app password: sign-ins and sessions are refused (401).
func (s *Server) Revoke() {
	s.mu.Lock()
	s.revoked = true
	clear(s.access)
	clear(s.refresh)
	s.mu.Unlock()
}

// FailChats makes the next n chat calls answer 500.
func (s *Server) FailChats(n int) { s.mu.Lock(); s.failChats = n; s.mu.Unlock() }

// Sessions counts the sessions created (createSession calls that succeeded).
func (s *Server) Sessions() int { s.mu.Lock(); defer s.mu.Unlock(); return s.sessions }

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
	nsid := filepath.Base(r.URL.Path)
	q := map[string]string{}
	for k := range r.URL.Query() {
		q[k] = r.URL.Query().Get(k)
	}
	s.requests = append(s.requests, Request{Method: r.Method, NSID: nsid, Query: q})
	bearer := r.Header.Get("Authorization")
	switch nsid {
	case "com.atproto.server.createSession":
		var in struct{ Identifier, Password string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		if s.revoked || in.Identifier != Identifier || in.Password != AppPassword {
			xrpcError(w, http.StatusUnauthorized, "AuthenticationRequired", "Invalid identifier or password")
			return
		}
		s.sessions++
		s.newTokens(w)
		return
	case "com.atproto.server.refreshSession":
		if s.revoked || !s.refresh[strings.TrimPrefix(bearer, "Bearer ")] {
			xrpcError(w, http.StatusBadRequest, "ExpiredToken", "Token has expired")
			return
		}
		s.newTokens(w)
		return
	}
	// Chat calls: a session, through the proxy.
	if r.Header.Get("Atproto-Proxy") != chatProxy {
		xrpcError(w, http.StatusNotImplemented, "MethodNotImplemented", "Method Not Implemented")
		return
	}
	if !s.access[strings.TrimPrefix(bearer, "Bearer ")] {
		xrpcError(w, http.StatusUnauthorized, "AuthenticationRequired", "Authentication Required")
		return
	}
	if s.expire {
		s.expire = false
		delete(s.access, strings.TrimPrefix(bearer, "Bearer "))
		xrpcError(w, http.StatusBadRequest, "ExpiredToken", "Token has expired")
		return
	}
	if s.failChats > 0 {
		s.failChats--
		xrpcError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		return
	}
	switch nsid {
	case "chat.bsky.convo.getLog":
		s.getLog(w, q["cursor"])
	case "chat.bsky.convo.listConvos":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.listing)
	case "chat.bsky.convo.getConvo":
		c, ok := s.convos[q["convoId"]]
		if !ok {
			xrpcError(w, http.StatusBadRequest, "InvalidConvo", "Convo not found")
			return
		}
		writeJSON(w, map[string]json.RawMessage{"convo": c})
	case "chat.bsky.convo.getMessages":
		s.getMessages(w, q["convoId"], q["limit"])
	case "chat.bsky.convo.sendMessage":
		return s.sendMessage(w, r)
	default:
		xrpcError(w, http.StatusNotImplemented, "MethodNotImplemented", "Method Not Implemented")
	}
	return nil
}

func (s *Server) newTokens(w http.ResponseWriter) {
	s.tokenSeq++
	access, refresh := fmt.Sprintf("access-%d", s.tokenSeq), fmt.Sprintf("refresh-%d", s.tokenSeq)
	s.access[access], s.refresh[refresh] = true, true
	writeJSON(w, map[string]any{"accessJwt": access, "refreshJwt": refresh, "did": DID, "handle": Identifier, "active": true})
}

// getLog answers the entries after cursor, all in one page; without a cursor, the head.
func (s *Server) getLog(w http.ResponseWriter, cursor string) {
	if cursor == "" {
		writeJSON(w, map[string]any{"cursor": Head, "logs": []any{}})
		return
	}
	logs := []json.RawMessage{}
	next := cursor
	for i, rev := range s.revs {
		if rev > cursor {
			logs = append(logs, s.logs[i])
			next = rev
		}
	}
	writeJSON(w, map[string]any{"cursor": next, "logs": logs})
}

// getMessages answers a convo's messages, newest first. No getMessages response was captured:
// its messageViews are the capture's own (the lexicon gives both the same #messageView).
func (s *Server) getMessages(w http.ResponseWriter, convoID, limit string) {
	n, err := strconv.Atoi(limit)
	if err != nil || n <= 0 {
		n = 50
	}
	if _, ok := s.convos[convoID]; !ok {
		xrpcError(w, http.StatusBadRequest, "InvalidConvo", "Convo not found")
		return
	}
	msgs := []json.RawMessage{}
	related := map[string]json.RawMessage{}
	for i := len(s.logs) - 1; i >= 0 && len(msgs) < n; i-- {
		var e struct {
			Type            string            `json:"$type"`
			ConvoID         string            `json:"convoId"`
			Message         json.RawMessage   `json:"message"`
			RelatedProfiles []json.RawMessage `json:"relatedProfiles"`
		}
		_ = json.Unmarshal(s.logs[i], &e)
		if e.ConvoID != convoID || e.Type != "chat.bsky.convo.defs#logCreateMessage" {
			continue
		}
		msgs = append(msgs, e.Message)
		for _, p := range e.RelatedProfiles {
			var did struct {
				DID string `json:"did"`
			}
			_ = json.Unmarshal(p, &did)
			related[did.DID] = p
		}
	}
	profiles := []json.RawMessage{}
	for _, k := range slices.Sorted(maps.Keys(related)) {
		profiles = append(profiles, related[k])
	}
	writeJSON(w, map[string]any{"messages": msgs, "relatedProfiles": profiles})
}

func xrpcError(w http.ResponseWriter, status int, name, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": name, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Sends returns the sendMessage calls received so far (refused ones included).
func (s *Server) Sends() []Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sends)
}

// FailSends refuses the next sendMessage calls, one fault each.
func (s *Server) FailSends(f ...Fault) { s.mu.Lock(); s.faults = append(s.faults, f...); s.mu.Unlock() }

// sendMessage answers as the chat service does: the message joins the convo's log (a
// logCreateMessage the poller reads, sender: the account) and the answer is its messageView.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) func() {
	body, _ := io.ReadAll(r.Body)
	s.sends = append(s.sends, Send{Authorization: r.Header.Get("Authorization"), Proxy: r.Header.Get("Atproto-Proxy"), Body: body})
	if r.Method != http.MethodPost {
		xrpcError(w, http.StatusMethodNotAllowed, "InvalidRequest", "sendMessage is a procedure")
		return nil
	}
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		xrpcError(w, f.Status, f.Name, f.Msg)
		return nil
	}
	var in struct {
		ConvoID string `json:"convoId"`
		Message struct {
			Text    string `json:"text"`
			ReplyTo *struct {
				MessageID string `json:"messageId"`
			} `json:"replyTo"`
		} `json:"message"`
	}
	if json.Unmarshal(body, &in) != nil || in.Message.Text == "" {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", "Input/message/text must be a string")
		return nil
	}
	if _, ok := s.convos[in.ConvoID]; !ok {
		xrpcError(w, http.StatusBadRequest, "InvalidConvo", "Convo not found")
		return nil
	}
	s.msgSeq++
	rev := fmt.Sprintf("3%012d", s.msgSeq) // after every captured rev (2222…)
	view := map[string]any{"$type": "chat.bsky.convo.defs#messageView", "id": fmt.Sprintf("3sent%08d", s.msgSeq), "rev": rev,
		"text": in.Message.Text, "sender": map[string]string{"did": DID}, "sentAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	if in.Message.ReplyTo != nil {
		view["replyTo"] = map[string]string{"id": in.Message.ReplyTo.MessageID}
	}
	entry, _ := json.Marshal(map[string]any{"$type": "chat.bsky.convo.defs#logCreateMessage", "rev": rev, "convoId": in.ConvoID, "message": view})
	s.logs = append(s.logs, entry)
	s.revs = append(s.revs, rev)
	if s.sentRevs == nil {
		s.sentRevs = map[string]string{}
	}
	s.sentRevs[view["id"].(string)] = rev
	hook, id := s.beforeAnswer, view["id"].(string)
	return func() {
		if hook != nil {
			hook(id)
		}
		writeJSON(w, view)
	}
}

// PolledPast reports whether the poller has read the log past the message id sent here (a
// getLog from the message's rev on: what it brought is recorded).
func (s *Server) PolledPast(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rev, ok := s.sentRevs[id]
	if !ok {
		return false
	}
	for _, r := range s.requests {
		if r.NSID == "chat.bsky.convo.getLog" && r.Query["cursor"] >= rev {
			return true
		}
	}
	return false
}

// BeforeAnswer sets a hook run after a sent message is in place (where the poller will read
// it) and before the answer; nil removes it.
func (s *Server) BeforeAnswer(f func(messageID string)) {
	s.mu.Lock()
	s.beforeAnswer = f
	s.mu.Unlock()
}
