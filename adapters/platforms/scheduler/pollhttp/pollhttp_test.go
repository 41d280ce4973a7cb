package pollhttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{}, 0},
		{http.Header{"Retry-After": {"120"}}, 2 * time.Minute},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"X-Ratelimit-Reset": {"29"}}, 29 * time.Second},                        // Reddit: seconds
		{http.Header{"Ratelimit-Reset": {"1772366442"}}, 42 * time.Second},                  // Bluesky: a unix time
		{http.Header{"Ratelimit-Reset": {"1772366300"}}, 0},                                 // already past
		{http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Reset": {"7"}}, 7 * time.Second}, // unreadable: the next one
		{http.Header{"Retry-After": {"3"}, "X-Ratelimit-Reset": {"600"}}, 3 * time.Second},  // Retry-After first
	} {
		if got := RetryAfter(c.h, now); got != c.want {
			t.Errorf("RetryAfter(%v) = %v, want %v", c.h, got, c.want)
		}
	}
}

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{"cursor":"c1"}`))
		case "/xrpc":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"ExpiredToken","message":"Token has expired"}`))
		case "/reddit":
			w.Header().Set("X-Ratelimit-Reset", "9")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"message": "Too Many Requests", "error": 429}`))
		case "/html":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`<html>bad gateway</html>`))
		}
	}))
	defer srv.Close()
	get := func(path string, out any) error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+path+"?token=s3cret", nil)
		_, err := Do(srv.Client(), req, "endpoint", out)
		return err
	}
	var out struct{ Cursor string }
	if err := get("/ok", &out); err != nil || out.Cursor != "c1" {
		t.Fatalf("ok: %+v, %v", out, err)
	}
	se, ok := AsStatus(get("/xrpc", nil))
	if !ok || se.Status != 400 || se.Name != "ExpiredToken" || se.Message != "Token has expired" {
		t.Fatalf("xrpc error: %+v", se)
	}
	err := get("/reddit", nil)
	if se, ok := AsStatus(err); !ok || se.Name != "" || se.RetryAfter != 9*time.Second {
		t.Fatalf("reddit error: %+v", se)
	}
	var ra *platforms.RetryAfter
	if !errors.As(RateLimited(err, time.Minute), &ra) || ra.After != 9*time.Second {
		t.Fatalf("RateLimited = %v", RateLimited(err, time.Minute))
	}
	if se, ok := AsStatus(get("/html", nil)); !ok || se.Status != 502 || se.Name != "" {
		t.Fatalf("html error: %+v", se)
	}
	if other := errors.New("x"); RateLimited(other, time.Minute) != other {
		t.Fatal("RateLimited changed another error")
	}
	// A transport failure never shows the URL (it may carry a token).
	srv.Close()
	err = get("/ok", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("transport error %v", err)
	}
}

// A sender's call made with Do fails as a SendError: temporary for 429 (with its wait), 5xx
// and transport failures; the link's fault for 401/403 and refused credentials; the secret
// scrubbed from the platform's words.
func TestSendError(t *testing.T) {
	for _, c := range []struct {
		err       error
		reason    string
		temporary bool
		linkFault bool
	}{
		{&StatusError{Status: 429, RetryAfter: 3 * time.Second}, platforms.ReasonRateLimited, true, false},
		{&StatusError{Status: 502}, platforms.ReasonPlatform, true, false},
		{&StatusError{Status: 401, Message: "token SECRET refused"}, platforms.ReasonAuth, false, true},
		{&StatusError{Status: 400, Name: "InvalidRequest"}, platforms.ReasonInvalid, false, false},
		{&platforms.AuthError{Reason: "refused"}, platforms.ReasonAuth, false, true},
		{&platforms.RetryAfter{After: time.Second}, platforms.ReasonRateLimited, true, false},
		{context.DeadlineExceeded, platforms.ReasonTimeout, true, false},
	} {
		se := SendError(c.err, "SECRET")
		if se.Reason != c.reason || se.Temporary != c.temporary || se.LinkFault != c.linkFault || strings.Contains(se.Error(), "SECRET") {
			t.Errorf("%v → %+v", c.err, se)
		}
	}
	if se := SendError(&StatusError{Status: 429, RetryAfter: 3 * time.Second}); se.RetryAfter != 3*time.Second {
		t.Errorf("429 waits %v", se.RetryAfter)
	}
}
