package x

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// X's refusals: a 403 about the app's authentication is the link's fault, another 403 the
// person's DM settings; 429 waits until x-rate-limit-reset; OAuth 1.0a signs when there is no
// bearer token; an attachment that is not an image is refused before anything is sent.
func TestSenderRefusals(t *testing.T) {
	status, answer, header := 201, `{"data":{"dm_conversation_id":"1-2","dm_event_id":"9"}}`, http.Header{}
	var auth string
	var posts int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "not an image")
			return
		}
		posts++
		auth = r.Header.Get("Authorization")
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	s := NewSender(platforms.BaseURLs{"x": srv.URL}, nil)
	oauth := map[string]string{CredConsumerKey: "ck", CredConsumerSecret: "CS", CredAccessToken: "1-at", CredAccessTokenSecret: "ATS"}
	m := platforms.Outbound{Recipient: "2", Text: "hi"}
	sent, err := s.Send(context.Background(), platforms.Link{}, oauth, m)
	if err != nil || sent.PlatformMessageID != "9" || !strings.HasPrefix(auth, "OAuth ") || strings.Contains(auth, "ATS") {
		t.Fatalf("oauth 1.0a send: %+v %v %q", sent, err, auth)
	}
	creds := map[string]string{CredBearerToken: "TOKEN"}
	for _, c := range []struct {
		status    int
		body      string
		header    http.Header
		reason    string
		linkFault bool
	}{
		{403, `{"title":"Unsupported Authentication","detail":"Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.","type":"https://api.twitter.com/2/problems/unsupported-authentication","status":403}`, nil, platforms.ReasonAuth, true},
		{403, `{"detail":"You are not permitted to send Direct Messages to this user.","type":"about:blank","title":"Forbidden","status":403}`, nil, platforms.ReasonBlocked, false},
		{429, `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`,
			http.Header{"X-Rate-Limit-Reset": {strconv.FormatInt(time.Now().Add(90*time.Second).Unix(), 10)}}, platforms.ReasonRateLimited, false},
	} {
		status, answer, header = c.status, c.body, c.header
		_, err := s.Send(context.Background(), platforms.Link{}, creds, m)
		se := platforms.AsSendError(err)
		if se.Reason != c.reason || se.LinkFault != c.linkFault || strings.Contains(err.Error(), "TOKEN") {
			t.Errorf("%d %s: %+v", c.status, c.body, se)
		}
		if c.status == 429 && (se.RetryAfter < 80*time.Second || se.RetryAfter > 90*time.Second || !se.Temporary) {
			t.Errorf("429 waits %v, want until the reset", se.RetryAfter)
		}
	}
	before := posts
	_, err = s.Send(context.Background(), platforms.Link{}, creds, platforms.Outbound{Recipient: "2",
		Attachments: []domain.Attachment{{Type: "image", URL: srv.URL + "/a.txt"}}})
	if se := platforms.AsSendError(err); se.Reason != platforms.ReasonInvalid || se.Temporary || posts != before {
		t.Fatalf("a text file as an image: %+v after %d posts", se, posts-before)
	}
}
