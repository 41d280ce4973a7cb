package platforms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/domain"
)

// Outbound is one of our replies as a platform sender gets it.
type Outbound struct {
	// MessageID is Switchboard's msg_ id: Meta carries it back in the echo (metadata), the API
	// channel gets it to deduplicate.
	MessageID, ThreadID string
	// Recipient is the prospect's platform id; Conversation the conversation's (a chat id).
	Recipient, Conversation string
	Text                    string
	Attachments             []domain.Attachment
	// ReplyTo is the platform id of the message it answers, or "".
	ReplyTo string
	// MessageTag is the tag the window rule requires (Meta HUMAN_AGENT), or "".
	MessageTag string
	// Template is an approved template sent instead of text (WhatsApp), or nil.
	Template *domain.Template
}

// Sent is the platform's acknowledgement of a reply.
type Sent struct {
	PlatformMessageID string
	At                time.Time // the platform's time, zero when it gives none
}

// Sender sends replies on one platform. A Sender is safe for concurrent use.
type Sender interface {
	Platform() domain.Platform
	// Send makes one attempt; a failure is a *SendError saying whether retrying can help.
	Send(ctx context.Context, link Link, creds map[string]string, m Outbound) (Sent, error)
	// Limit is the rate (and burst) of sends one account link may make.
	Limit() (rate.Limit, int)
}

// Reconciler is a Sender that can look on the platform for a reply whose attempt has no
// recorded outcome (its sender died during the call), instead of sending it again blindly.
type Reconciler interface {
	Find(ctx context.Context, link Link, creds map[string]string, m Outbound) (Sent, bool, error)
}

// Stable failure reasons (Message.failure_reason).
const (
	ReasonRateLimited     = "rate_limited"
	ReasonWindowClosed    = "window_closed"
	ReasonBlocked         = "blocked"
	ReasonAuth            = "auth"
	ReasonRecipient       = "recipient_not_found"
	ReasonInvalid         = "invalid_request"
	ReasonPlatform        = "platform_error"
	ReasonTimeout         = "timeout"
	ReasonUnknownOutcome  = domain.ReasonUnknownOutcome
	ReasonLinkUnavailable = "link_unavailable"
)

// SendError is a failed attempt, in words safe to record: never a token, never a URL.
type SendError struct {
	Reason    string // one of the Reason… codes
	Temporary bool   // retrying may help
	Code      string // the platform's error code, when it gave one
	// RetryAfter is the wait the platform asked for (429 Retry-After, Telegram retry_after).
	RetryAfter time.Duration
	// LinkFault: the link's credentials or permissions are at fault (its health is marked).
	LinkFault bool
	Detail    string // the platform's own description, scrubbed of secrets
}

func (e *SendError) Error() string {
	s := "send failed: " + e.Reason
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// AsSendError returns err as a *SendError; any other error is a temporary platform error.
func AsSendError(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Reason: ReasonPlatform, Temporary: true, Detail: "unexpected error"}
}

// HTTPResult is a platform's HTTP answer.
type HTTPResult struct {
	Status int
	Header http.Header
	Body   []byte
}

// PostJSON posts body as JSON and reads the answer (at most 1 MiB). A transport failure is a
// temporary *SendError (timeout or network) that never quotes the URL, which may hold a token
// (Telegram puts it in the path); secrets are scrubbed from what is kept.
func PostJSON(ctx context.Context, c *http.Client, u string, header http.Header, body any, secrets ...string) (HTTPResult, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return HTTPResult{}, &SendError{Reason: ReasonInvalid, Detail: "the message cannot be encoded"}
	}
	return PostBytes(ctx, c, u, header, b, secrets...)
}

// PostBytes is PostJSON with the body already encoded.
func PostBytes(ctx context.Context, c *http.Client, u string, header http.Header, b []byte, secrets ...string) (HTTPResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return HTTPResult{}, &SendError{Reason: ReasonInvalid, Detail: "bad platform URL"}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		reason := ReasonPlatform
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			reason = ReasonTimeout
		}
		return HTTPResult{}, &SendError{Reason: reason, Temporary: true, Detail: Scrub(err.Error(), secrets...)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return HTTPResult{}, &SendError{Reason: ReasonTimeout, Temporary: true, Detail: "the answer was cut off"}
	}
	return HTTPResult{Status: res.StatusCode, Header: res.Header, Body: body}, nil
}

// Scrub removes every secret from s.
func Scrub(s string, secrets ...string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// RetryAfterHeader reads a Retry-After header in seconds or as an HTTP date (0 if none).
func RetryAfterHeader(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// HTTPStatusError classifies a non-2xx answer without a platform error body: 429 and 5xx are
// temporary, 401/403 the link's fault, the rest an invalid request.
func HTTPStatusError(r HTTPResult) *SendError {
	code := strconv.Itoa(r.Status)
	switch {
	case r.Status == http.StatusTooManyRequests:
		return &SendError{Reason: ReasonRateLimited, Temporary: true, Code: code, RetryAfter: RetryAfterHeader(r.Header, time.Now())}
	case r.Status >= 500:
		return &SendError{Reason: ReasonPlatform, Temporary: true, Code: code}
	case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden:
		return &SendError{Reason: ReasonAuth, Code: code, LinkFault: true}
	default:
		return &SendError{Reason: ReasonInvalid, Code: code, Detail: fmt.Sprintf("HTTP %d", r.Status)}
	}
}
