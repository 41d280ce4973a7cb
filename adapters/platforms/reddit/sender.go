package reddit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/pollhttp"
	"github.com/switchboard-oss/switchboard/domain"
)

type sender struct {
	// p keeps the sender's own access tokens (renewed with the refresh token as the poller does).
	p *poller
}

// NewSender returns Reddit's sender: a reply in the private-message thread the poller reads
// (POST /api/comment with thing_id, the message answered or else the thread's root), or a new
// message (POST /api/compose) to a person with no thread. Reddit messages carry no attachment.
func NewSender(baseURLs platforms.BaseURLs, client *http.Client) platforms.Sender {
	return &sender{p: NewPoller(baseURLs, client).(*poller)}
}

func (*sender) Platform() domain.Platform { return domain.PlatformReddit }

// Limit: 100 queries per minute per OAuth client (shared with the poller, which takes 90 of
// them at most); 3,000 chat messages a day in total.
func (*sender) Limit() (rate.Limit, int) { return rate.Every(2 * time.Second), 5 }

// commentAnswer is /api/comment's (and /api/compose's) api_type=json answer.
type commentAnswer struct {
	JSON struct {
		Errors [][]any `json:"errors"`
		Data   struct {
			Things []thing `json:"things"`
		} `json:"data"`
	} `json:"json"`
}

// Send posts the reply once, the access token renewed first when needed.
func (s *sender) Send(ctx context.Context, link platforms.Link, creds map[string]string, m platforms.Outbound) (platforms.Sent, error) {
	if creds[CredClientID] == "" || creds[CredRefreshToken] == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonAuth, LinkFault: true,
			Detail: "no Reddit client_id or refresh_token in the link's credentials"}
	}
	if len(m.Attachments) > 0 {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonInvalid, Detail: "Reddit messages take no attachment"}
	}
	a := s.p.account(link.ID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := credsDigest(creds); d != a.creds {
		a.creds, a.access, a.expires = d, "", time.Time{}
	}
	path, form := "/api/comment", url.Values{"api_type": {"json"}, "text": {m.Text}}
	switch {
	case strings.HasPrefix(m.ReplyTo, "t4_"):
		form.Set("thing_id", m.ReplyTo)
	case strings.HasPrefix(m.Conversation, "t4_"):
		form.Set("thing_id", m.Conversation)
	default:
		path = "/api/compose"
		form.Set("to", strings.TrimPrefix(m.Recipient, "#"))
		form.Set("subject", "Re: your message")
	}
	secrets := []string{creds[CredClientSecret], creds[CredRefreshToken]}
	for attempt := 0; ; attempt++ {
		if err := s.p.token(ctx, a, link, creds); err != nil {
			return platforms.Sent{}, pollhttp.SendError(err, secrets...)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.p.oauth+path+"?raw_json=1", strings.NewReader(form.Encode()))
		if err != nil {
			return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonInvalid, Detail: "bad platform URL"}
		}
		req.Header.Set("Authorization", "bearer "+a.access)
		req.Header.Set("User-Agent", userAgent(link))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var out commentAnswer
		_, err = pollhttp.Do(s.p.client, req, strings.TrimPrefix(path, "/"), &out)
		if se, ok := pollhttp.AsStatus(err); ok && se.Status == http.StatusUnauthorized && attempt == 0 {
			a.access = "" // expired or revoked: renew once
			continue
		}
		if err != nil {
			return platforms.Sent{}, pollhttp.SendError(err, append(secrets, a.access)...)
		}
		return answer(out, path)
	}
}

// answer reads the new message from the answer; Reddit reports refusals as json.errors
// ([code, message, field]) in a 200.
func answer(out commentAnswer, path string) (platforms.Sent, error) {
	if len(out.JSON.Errors) > 0 {
		return platforms.Sent{}, redditError(out.JSON.Errors[0])
	}
	for _, th := range out.JSON.Data.Things {
		var m message
		if th.Kind == "t4" && json.Unmarshal(th.Data, &m) == nil && m.Name != "" {
			return platforms.Sent{PlatformMessageID: m.Name, At: created(m.CreatedUTC)}, nil
		}
	}
	if path == "/api/compose" {
		// compose answers no id (the recorded answer is {"json": {"errors": []}}): the poll of
		// the thread finds the message by its text (it is ours, in flight or of unknown outcome).
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonUnknownOutcome,
			Detail: "Reddit accepted the new message without naming it"}
	}
	return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonPlatform, Detail: "the answer names no message"}
}

// redditError maps one of Reddit's json.errors: RATELIMIT waits ("try again in 5 minutes"),
// an unknown or unreachable user fails at once, the rest is an invalid request.
func redditError(e []any) *platforms.SendError {
	str := func(i int) string {
		if i < len(e) {
			if s, ok := e[i].(string); ok {
				return s
			}
		}
		return ""
	}
	code, msg := str(0), str(1)
	out := &platforms.SendError{Code: code, Detail: platforms.Scrub(msg)}
	switch code {
	case "RATELIMIT":
		out.Reason, out.Temporary, out.RetryAfter = platforms.ReasonRateLimited, true, waitIn(msg)
	case "USER_DOESNT_EXIST", "NO_USER", "DELETED_COMMENT", "DELETED_THING", "NOT_AUTHOR":
		out.Reason = platforms.ReasonRecipient
	case "NOT_WHITELISTED_BY_USER_MESSAGE", "USER_BLOCKED_MESSAGE", "USER_BLOCKED":
		out.Reason = platforms.ReasonBlocked
	default:
		out.Reason = platforms.ReasonInvalid
	}
	return out
}

// waitIn reads "try again in N minutes/seconds" (a minute when it says nothing readable).
func waitIn(msg string) time.Duration {
	f := strings.Fields(msg)
	for i := 0; i+1 < len(f); i++ {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(f[i+1], "second"):
			return time.Duration(n) * time.Second
		case strings.HasPrefix(f[i+1], "minute"):
			return time.Duration(n) * time.Minute
		}
	}
	return time.Minute
}
