// Package apichannel delivers the team's replies to custom sources (PLATFORM_API links): a
// signed JSON POST to the link's delivery_url. The format is documented in README.md.
package apichannel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// Credential keys of an API channel link (LinkAccount credentials).
const (
	CredDeliveryURL   = "delivery_url"
	CredSigningSecret = "signing_secret"
)

// Headers of a delivery.
const (
	HeaderTimestamp = "X-Switchboard-Timestamp"
	HeaderSignature = "X-Switchboard-Signature"
	HeaderMessageID = "X-Switchboard-Message-Id"
)

// Delivery is the JSON body POSTed to the delivery URL.
type Delivery struct {
	Type                     string       `json:"type"` // "message.send"
	MessageID                string       `json:"message_id"`
	ThreadID                 string       `json:"thread_id"`
	AccountLinkID            string       `json:"account_link_id"`
	PlatformConversationID   string       `json:"platform_conversation_id"`
	RecipientPlatformID      string       `json:"recipient_platform_id"`
	Text                     string       `json:"text,omitempty"`
	Attachments              []attachment `json:"attachments,omitempty"`
	ReplyToPlatformMessageID string       `json:"reply_to_platform_message_id,omitempty"`
}

type attachment struct {
	Type     string `json:"type"`
	URL      string `json:"url"`
	MimeType string `json:"mime_type,omitempty"`
	Name     string `json:"name,omitempty"`
}

// Answer is the optional JSON of a 2xx answer.
type Answer struct {
	PlatformMessageID string `json:"platform_message_id"`
}

// Sign returns the signature header's value: "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body).
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

type sender struct {
	client *http.Client
	now    func() time.Time
}

// NewSender returns the API channel's sender.
func NewSender() platforms.Sender {
	return &sender{client: &http.Client{}, now: time.Now}
}

func (*sender) Platform() domain.Platform { return domain.PlatformAPI }

func (*sender) Limit() (rate.Limit, int) { return 50, 50 }

// Send POSTs the delivery. The source must treat deliveries with the same X-Switchboard-Message-Id
// as one message: then a retry (and a reconciliation after a crash) never shows a reply twice.
func (s *sender) Send(ctx context.Context, link platforms.Link, creds map[string]string, m platforms.Outbound) (platforms.Sent, error) {
	target, secret := creds[CredDeliveryURL], creds[CredSigningSecret]
	if target == "" || secret == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonAuth, LinkFault: true,
			Detail: "the link has no delivery_url or signing_secret"}
	}
	d := Delivery{Type: "message.send", MessageID: m.MessageID, ThreadID: m.ThreadID, AccountLinkID: link.ID,
		PlatformConversationID: m.Conversation, RecipientPlatformID: m.Recipient, Text: m.Text, ReplyToPlatformMessageID: m.ReplyTo}
	for _, a := range m.Attachments {
		d.Attachments = append(d.Attachments, attachment{Type: a.Type, URL: a.URL, MimeType: a.MimeType, Name: a.Name})
	}
	body, err := json.Marshal(d)
	if err != nil {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonInvalid}
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	h := http.Header{HeaderTimestamp: {ts}, HeaderSignature: {Sign(secret, ts, body)}, HeaderMessageID: {m.MessageID}}
	res, err := platforms.PostBytes(ctx, s.client, target, h, body, secret)
	if err != nil {
		return platforms.Sent{}, err
	}
	if res.Status/100 != 2 {
		return platforms.Sent{}, platforms.HTTPStatusError(res)
	}
	var a Answer
	_ = json.Unmarshal(res.Body, &a) // the answer's body is optional
	if a.PlatformMessageID == "" {
		a.PlatformMessageID = m.MessageID
	}
	return platforms.Sent{PlatformMessageID: a.PlatformMessageID}, nil
}

// Find reconciles an attempt without outcome by delivering again: the source deduplicates by
// X-Switchboard-Message-Id and answers the platform_message_id it already gave.
func (s *sender) Find(ctx context.Context, link platforms.Link, creds map[string]string, m platforms.Outbound) (platforms.Sent, bool, error) {
	sent, err := s.Send(ctx, link, creds, m)
	return sent, err == nil, err
}
