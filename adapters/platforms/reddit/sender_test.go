package reddit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
)

// Reddit answers refusals as json.errors in a 200: a rate limit waits what it says, a refused
// recipient fails at once; a thread-less reply composes a new message, whose answer names no
// message (its outcome is then unknown until the poll sees it). No secret reaches an error.
func TestSenderRefusalsAndCompose(t *testing.T) {
	var path string
	var form url.Values
	answer := `{"json": {"errors": [["RATELIMIT", "Looks like you've been doing that a lot. Take a break for 5 minutes before trying again.", "ratelimit"]]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/access_token" {
			_, _ = io.WriteString(w, `{"access_token":"tok","expires_in":86400,"scope":"privatemessages"}`)
			return
		}
		_ = r.ParseForm()
		path, form = r.URL.Path, r.PostForm
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	s := NewSender(platforms.BaseURLs{"reddit": srv.URL}, nil)
	creds := map[string]string{CredClientID: "id", CredClientSecret: "SECRET", CredRefreshToken: "REFRESH"}
	link := platforms.Link{ID: "acc_1", PlatformID: "me"}
	_, err := s.Send(context.Background(), link, creds, platforms.Outbound{Conversation: "t4_root", ReplyTo: "t4_last", Text: "hi"})
	se := platforms.AsSendError(err)
	if se.Reason != platforms.ReasonRateLimited || !se.Temporary || se.RetryAfter != 5*time.Minute || form.Get("thing_id") != "t4_last" {
		t.Fatalf("rate limit: %+v, form %v", se, form)
	}
	answer = `{"json": {"errors": [["USER_DOESNT_EXIST", "that user doesn't exist", "to"]]}}`
	_, err = s.Send(context.Background(), link, creds, platforms.Outbound{Conversation: "t4_root", Text: "hi"})
	if se := platforms.AsSendError(err); se.Reason != platforms.ReasonRecipient || se.Temporary || form.Get("thing_id") != "t4_root" {
		t.Fatalf("unknown user: %+v", se)
	}
	answer = `{"json": {"errors": []}}` // the recorded /api/compose answer
	_, err = s.Send(context.Background(), link, creds, platforms.Outbound{Recipient: "someone", Conversation: "someone", Text: "hi"})
	if se := platforms.AsSendError(err); se.Reason != platforms.ReasonUnknownOutcome || path != "/api/compose" || form.Get("to") != "someone" {
		t.Fatalf("compose: %+v %s %v", se, path, form)
	}
	if err != nil && (strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "REFRESH")) {
		t.Fatal("an error holds a secret")
	}
}
