package meta

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
	"github.com/switchboard-oss/switchboard/domain"
)

// Graph API defaults for sending.
const (
	DefaultGraphBaseURL     = "https://graph.facebook.com"
	DefaultInstagramBaseURL = "https://graph.instagram.com"
	DefaultGraphVersion     = "v25.0"
)

// SendAPI is the Messenger Platform Send API, shared by Messenger and Instagram:
// POST /{version}/{account id}/messages with the account's token in the Authorization header
// (never in the URL), the reply's msg_ id in message.metadata so the echo maps back to it.
type SendAPI struct {
	platform domain.Platform
	base     string
	client   *http.Client
}

// NewSendAPI returns the Send API sender of a Meta platform (base: its default host).
func NewSendAPI(p domain.Platform, baseURLs platforms.BaseURLs, def string, client *http.Client) *SendAPI {
	if client == nil {
		client = &http.Client{}
	}
	return &SendAPI{platform: p, base: strings.TrimRight(baseURLs.Get(p.String(), def), "/"), client: client}
}

// Platform is the Meta platform it sends on.
func (s *SendAPI) Platform() domain.Platform { return s.platform }

// Limit: Meta's page-level send limits are large (and reported by 613 when reached).
func (s *SendAPI) Limit() (rate.Limit, int) { return 20, 20 }

// Send makes one Send API call.
func (s *SendAPI) Send(ctx context.Context, link platforms.Link, creds map[string]string, m platforms.Outbound) (platforms.Sent, error) {
	token := creds[CredAccessToken]
	if token == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonAuth, LinkFault: true, Detail: "no access_token in the link's credentials"}
	}
	msg := map[string]any{"metadata": m.MessageID}
	if len(m.Attachments) > 0 {
		a := m.Attachments[0]
		msg["attachment"] = map[string]any{"type": a.Type, "payload": map[string]any{"url": a.URL, "is_reusable": false}}
	} else {
		msg["text"] = m.Text
	}
	body := map[string]any{"recipient": map[string]string{"id": m.Recipient}, "messaging_type": "RESPONSE", "message": msg}
	if m.MessageTag != "" {
		body["messaging_type"], body["tag"] = "MESSAGE_TAG", m.MessageTag
	}
	res, err := platforms.PostJSON(ctx, s.client, s.base+"/"+DefaultGraphVersion+"/"+url.PathEscape(link.PlatformID)+"/messages",
		http.Header{"Authorization": {"Bearer " + token}}, body, token)
	if err != nil {
		return platforms.Sent{}, err
	}
	var a struct {
		RecipientID string      `json:"recipient_id"`
		MessageID   string      `json:"message_id"`
		Error       *GraphError `json:"error"`
	}
	if json.Unmarshal(res.Body, &a) != nil || res.Status/100 != 2 || a.Error != nil {
		if a.Error != nil {
			return platforms.Sent{}, a.Error.SendError(res, token)
		}
		return platforms.Sent{}, platforms.HTTPStatusError(res)
	}
	if a.MessageID == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonPlatform, Detail: "the answer names no message"}
	}
	return platforms.Sent{PlatformMessageID: a.MessageID}, nil
}

// GraphError is the Graph API's error object.
type GraphError struct {
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode"`
	FBTraceID string `json:"fbtrace_id"`
}

// SendError classifies a Graph error: codes 1, 2, 4, 17, 341, 613 (and WhatsApp's 130429,
// 131056) are temporary; 190 and 102 (token), 10 and 200-299 (permission) the link's fault;
// 10 with subcode 2018278, 2018065 and WhatsApp's 131047 the messaging window; 551 and
// subcode 1545041 a person who is unavailable; 100 with 2018001 or 131026 no such recipient.
func (g *GraphError) SendError(res platforms.HTTPResult, secrets ...string) *platforms.SendError {
	e := &platforms.SendError{Code: strconv.Itoa(g.Code), Detail: platforms.Scrub(g.Message, secrets...)}
	if g.Subcode != 0 {
		e.Code += "/" + strconv.Itoa(g.Subcode)
	}
	switch {
	case g.Subcode == 2018278 || g.Subcode == 2018065 || g.Code == 131047:
		e.Reason = platforms.ReasonWindowClosed
	case g.Code == 1 || g.Code == 2 || g.Code == 4 || g.Code == 17 || g.Code == 341 || g.Code == 613 ||
		g.Code == 32 || g.Code == 80004 || g.Code == 130429 || g.Code == 131056:
		e.Reason, e.Temporary = platforms.ReasonRateLimited, true
		if g.Code == 1 || g.Code == 2 {
			e.Reason = platforms.ReasonPlatform
		}
		e.RetryAfter = platforms.RetryAfterHeader(res.Header, time.Now())
	case g.Code == 190 || g.Code == 102 || g.Code == 10 || (g.Code >= 200 && g.Code < 300):
		e.Reason, e.LinkFault = platforms.ReasonAuth, true
	case g.Code == 551 || g.Subcode == 1545041 || g.Code == 131051:
		e.Reason = platforms.ReasonBlocked
	case g.Subcode == 2018001 || g.Code == 131026 || g.Code == 131030:
		e.Reason = platforms.ReasonRecipient
	case res.Status >= 500:
		e.Reason, e.Temporary = platforms.ReasonPlatform, true
	default:
		e.Reason = platforms.ReasonInvalid
	}
	return e
}
