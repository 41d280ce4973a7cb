// Package pollhttp is the HTTP plumbing the polling adapters share (bluesky, reddit…): JSON
// requests with a bounded body, platform errors with their name, and the platforms' ways of
// saying how long to wait. Errors never carry a request's URL or headers, which may hold
// tokens.
package pollhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
)

// MaxBody bounds a response body.
const MaxBody = 16 << 20

// StatusError is a platform's answer other than 2xx. It is safe to log: it holds the
// endpoint's name, never its URL.
type StatusError struct {
	Endpoint string
	Status   int
	// Name is the platform's error name from a JSON body ("ExpiredToken", "invalid_grant").
	Name string
	// Message is the platform's error message, bounded.
	Message string
	// RetryAfter is how long the platform asked to wait (0 when it did not say).
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Endpoint, e.Status)
	if e.Name != "" {
		s += " " + e.Name
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// AsStatus reports a StatusError.
func AsStatus(err error) (*StatusError, bool) {
	var se *StatusError
	ok := errors.As(err, &se)
	return se, ok
}

// Do sends req and decodes a 2xx JSON body into out (ignored when out is nil). Any other
// status is a *StatusError; a transport failure is returned without the request's URL.
func Do(client *http.Client, req *http.Request, endpoint string, out any) (http.Header, error) {
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold a token or a cursor
		}
		return nil, fmt.Errorf("%s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return resp.Header, fmt.Errorf("%s: reading the response: %w", endpoint, err)
	}
	if len(body) > MaxBody {
		return resp.Header, fmt.Errorf("%s: response larger than %d bytes", endpoint, MaxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{Endpoint: endpoint, Status: resp.StatusCode, RetryAfter: RetryAfter(resp.Header, time.Now())}
		se.Name, se.Message = errorBody(body)
		return resp.Header, se
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.Header, fmt.Errorf("%s: response is not the expected JSON: %w", endpoint, err)
		}
	}
	return resp.Header, nil
}

// errorBody reads the usual JSON error shapes: {"error": "Name", "message": "…"} (XRPC),
// {"error": "invalid_grant", "error_description": "…"} (OAuth), {"message": "…", "error": 401}.
func errorBody(body []byte) (name, msg string) {
	var e struct {
		Error       json.RawMessage `json:"error"`
		Message     string          `json:"message"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	_ = json.Unmarshal(e.Error, &name) // a number is no name
	msg = e.Message
	if msg == "" {
		msg = e.Description
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200])
	}
	return strings.TrimSpace(name), strings.TrimSpace(msg)
}

// RetryAfter reads how long a platform asks to wait: Retry-After (seconds or an HTTP date),
// else the reset of its rate-limit window: x-ratelimit-reset (seconds, Reddit) or
// ratelimit-reset (seconds, or a unix time as Bluesky's PDS sends). 0 when none says.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	for _, k := range []string{"X-Ratelimit-Reset", "Ratelimit-Reset"} {
		v := strings.TrimSpace(h.Get(k))
		s, err := strconv.ParseFloat(v, 64)
		if v == "" || err != nil || s < 0 {
			continue
		}
		if s > 1e9 { // a unix time
			return max(time.Unix(int64(s), 0).Sub(now), 0)
		}
		return time.Duration(s * float64(time.Second))
	}
	return 0
}

// RateLimited turns a 429 into *platforms.RetryAfter (def when the platform named no wait);
// other errors are returned as they are.
func RateLimited(err error, def time.Duration) error {
	if se, ok := AsStatus(err); ok && se.Status == http.StatusTooManyRequests {
		after := se.RetryAfter
		if after <= 0 {
			after = def
		}
		return &platforms.RetryAfter{After: after}
	}
	return err
}

// SendError maps an error of a call made with Do (or a poller's session and token errors) to
// a sender's failure: 429 and 5xx and transport failures are temporary, 401/403 and refused
// credentials the link's fault, other 4xx an invalid request, in words safe to record. The
// secrets are scrubbed from the platform's message.
func SendError(err error, secrets ...string) *platforms.SendError {
	var sent *platforms.SendError
	if errors.As(err, &sent) {
		return sent
	}
	if a, ok := platforms.IsAuth(err); ok {
		return &platforms.SendError{Reason: platforms.ReasonAuth, LinkFault: true, Detail: platforms.Scrub(a.Reason, secrets...)}
	}
	if r, ok := platforms.IsRetryAfter(err); ok {
		return &platforms.SendError{Reason: platforms.ReasonRateLimited, Temporary: true, Code: "429", RetryAfter: r.After}
	}
	se, ok := AsStatus(err)
	if !ok {
		reason := platforms.ReasonPlatform
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
			reason = platforms.ReasonTimeout
		}
		return &platforms.SendError{Reason: reason, Temporary: true, Detail: platforms.Scrub(err.Error(), secrets...)}
	}
	code := strconv.Itoa(se.Status)
	if se.Name != "" {
		code = se.Name
	}
	out := &platforms.SendError{Code: code, Detail: platforms.Scrub(se.Message, secrets...)}
	switch {
	case se.Status == http.StatusTooManyRequests:
		out.Reason, out.Temporary, out.RetryAfter = platforms.ReasonRateLimited, true, se.RetryAfter
	case se.Status >= 500:
		out.Reason, out.Temporary = platforms.ReasonPlatform, true
	case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
		out.Reason, out.LinkFault = platforms.ReasonAuth, true
	default:
		out.Reason = platforms.ReasonInvalid
	}
	return out
}
