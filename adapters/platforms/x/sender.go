package x

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// maxImage is the largest image X takes in a DM (5 MB).
const maxImage = 5 << 20

type sender struct {
	p *poller // the base URL, client and user-context authorization
}

// NewSender returns X's sender: POST /2/dm_conversations/:dm_conversation_id/messages (or
// /2/dm_conversations/with/:participant_id/messages when the thread has no conversation id)
// with the link's user-context credentials (an OAuth 2.0 user bearer_token, else OAuth 1.0a).
// An image is uploaded first (POST /2/media/upload, media_category dm_image) and attached by
// its media id. A nil client gets a default one.
func NewSender(baseURLs platforms.BaseURLs, client *http.Client) platforms.Sender {
	return &sender{p: NewPoller(baseURLs, client).(*poller)}
}

func (*sender) Platform() domain.Platform { return domain.PlatformX }

// Limit: 15 DM sends per 15 minutes per user (and 1,440 a day).
func (*sender) Limit() (rate.Limit, int) { return rate.Every(time.Minute), 15 }

// Send uploads the attachment, if any, then sends the message once.
func (s *sender) Send(ctx context.Context, _ platforms.Link, creds map[string]string, m platforms.Outbound) (platforms.Sent, error) {
	secrets := []string{creds[CredBearerToken], creds[CredConsumerSecret], creds[CredAccessToken], creds[CredAccessTokenSecret]}
	path := "/2/dm_conversations/with/" + url.PathEscape(m.Recipient) + "/messages"
	if m.Conversation != "" {
		path = "/2/dm_conversations/" + url.PathEscape(m.Conversation) + "/messages"
	}
	body := map[string]any{}
	if m.Text != "" {
		body["text"] = m.Text
	}
	if len(m.Attachments) > 0 {
		id, err := s.upload(ctx, creds, m.Attachments[0], secrets)
		if err != nil {
			return platforms.Sent{}, err
		}
		body["attachments"] = []map[string]string{{"media_id": id}}
	}
	res, err := s.post(ctx, path, creds, body, secrets)
	if err != nil {
		return platforms.Sent{}, err
	}
	var out struct {
		Data struct {
			ConversationID string `json:"dm_conversation_id"`
			EventID        string `json:"dm_event_id"`
		} `json:"data"`
	}
	if json.Unmarshal(res.Body, &out) != nil || out.Data.EventID == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonPlatform, Detail: "the answer names no dm_event_id"}
	}
	return platforms.Sent{PlatformMessageID: out.Data.EventID}, nil
}

// upload fetches the attachment (an image of at most 5 MB) and uploads it for DMs.
func (s *sender) upload(ctx context.Context, creds map[string]string, a domain.Attachment, secrets []string) (string, error) {
	if a.Type != "image" {
		return "", &platforms.SendError{Reason: platforms.ReasonInvalid, Detail: "X DMs take an image attachment only"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return "", &platforms.SendError{Reason: platforms.ReasonInvalid, Detail: "the attachment's URL is not valid"}
	}
	res, err := s.p.client.Do(req)
	if err != nil {
		return "", &platforms.SendError{Reason: platforms.ReasonTimeout, Temporary: true, Detail: "the attachment could not be fetched"}
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return "", &platforms.SendError{Reason: platforms.ReasonInvalid, Temporary: res.StatusCode >= 500,
			Code: strconv.Itoa(res.StatusCode), Detail: "the attachment's URL answered HTTP " + strconv.Itoa(res.StatusCode)}
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxImage+1))
	if err != nil {
		return "", &platforms.SendError{Reason: platforms.ReasonTimeout, Temporary: true, Detail: "the attachment was cut off"}
	}
	if len(b) > maxImage {
		return "", &platforms.SendError{Reason: platforms.ReasonInvalid, Detail: "the image is larger than X's 5 MB"}
	}
	ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "image/") {
		ct = http.DetectContentType(b)
	}
	if !strings.HasPrefix(ct, "image/") {
		return "", &platforms.SendError{Reason: platforms.ReasonInvalid, Detail: "the attachment is not an image (" + ct + ")"}
	}
	up, err := s.post(ctx, "/2/media/upload", creds, map[string]string{"media": base64.StdEncoding.EncodeToString(b),
		"media_category": "dm_image", "media_type": ct}, secrets)
	if err != nil {
		return "", err
	}
	var out struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if json.Unmarshal(up.Body, &out) != nil || out.Data.ID == "" {
		return "", &platforms.SendError{Reason: platforms.ReasonPlatform, Temporary: true, Detail: "the media upload named no media id"}
	}
	return out.Data.ID, nil
}

// post makes one authorized JSON POST and classifies a refusal.
func (s *sender) post(ctx context.Context, path string, creds map[string]string, body any, secrets []string) (platforms.HTTPResult, error) {
	auth, err := s.p.authorization(http.MethodPost, s.p.base+path, nil, creds)
	if err != nil {
		var ae *platforms.AuthError
		if errors.As(err, &ae) {
			return platforms.HTTPResult{}, &platforms.SendError{Reason: platforms.ReasonAuth, LinkFault: true, Detail: ae.Reason}
		}
		return platforms.HTTPResult{}, err
	}
	res, err := platforms.PostJSON(ctx, s.p.client, s.p.base+path, http.Header{"Authorization": {auth}}, body, secrets...)
	if err != nil {
		return res, err
	}
	if res.Status/100 == 2 {
		return res, nil
	}
	return res, s.classify(res, secrets)
}

// classify maps X's refusals: 429 waits for x-rate-limit-reset; 5xx is temporary; 401, and a
// 403 about the app or its authentication, are the link's fault; another 403 is the person's
// DM settings (they do not take messages from us); 404 an unknown user or conversation.
func (s *sender) classify(res platforms.HTTPResult, secrets []string) *platforms.SendError {
	var pr struct {
		problem
		Type   string    `json:"type"`
		Errors []problem `json:"errors"`
	}
	_ = json.Unmarshal(res.Body, &pr)
	detail := pr.problem.String()
	if detail == ":" && len(pr.Errors) > 0 {
		detail = pr.Errors[0].String()
	}
	e := &platforms.SendError{Code: strconv.Itoa(res.Status), Detail: platforms.Scrub(strings.Trim(detail, ": "), secrets...)}
	switch {
	case res.Status == http.StatusTooManyRequests:
		e.Reason, e.Temporary, e.RetryAfter = platforms.ReasonRateLimited, true, s.p.retryAfter(res.Header)
	case res.Status >= 500:
		e.Reason, e.Temporary = platforms.ReasonPlatform, true
	case res.Status == http.StatusUnauthorized:
		e.Reason, e.LinkFault = platforms.ReasonAuth, true
	case res.Status == http.StatusForbidden && (strings.Contains(pr.Type, "client-forbidden") ||
		strings.Contains(pr.Type, "unsupported-authentication") || strings.Contains(strings.ToLower(detail), "authenticat")):
		e.Reason, e.LinkFault = platforms.ReasonAuth, true
	case res.Status == http.StatusForbidden:
		e.Reason = platforms.ReasonBlocked
	case res.Status == http.StatusNotFound:
		e.Reason = platforms.ReasonRecipient
	default:
		e.Reason = platforms.ReasonInvalid
	}
	return e
}
