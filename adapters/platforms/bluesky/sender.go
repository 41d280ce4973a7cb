package bluesky

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/pollhttp"
	"github.com/switchboard-oss/switchboard/domain"
)

type sender struct {
	// p keeps the sender's own sessions (opened and refreshed as the poller does).
	p *poller
}

// NewSender returns Bluesky's sender: chat.bsky.convo.sendMessage through the account's PDS
// with the chat proxy header, quoting with replyTo. Bluesky chat takes no attachment (an
// embed is only a post record or a join link). A nil client gets a default one.
func NewSender(baseURLs platforms.BaseURLs, client *http.Client) platforms.Sender {
	return &sender{p: NewPoller(baseURLs, client).(*poller)}
}

func (*sender) Platform() domain.Platform { return domain.PlatformBluesky }

// Limit: Bluesky publishes no chat limit; the PDS allows 3000 requests per 5 minutes per IP
// for every account together, so one account sends at most 2 a second.
func (*sender) Limit() (rate.Limit, int) { return 2, 5 }

// Send calls sendMessage once (the session opened or refreshed first when needed).
func (s *sender) Send(ctx context.Context, link platforms.Link, creds map[string]string, m platforms.Outbound) (platforms.Sent, error) {
	if creds[CredIdentifier] == "" || creds[CredAppPassword] == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonAuth, LinkFault: true,
			Detail: "no Bluesky identifier or app_password in the link's credentials"}
	}
	if m.Conversation == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonRecipient, Detail: "the thread has no convo id"}
	}
	if len(m.Attachments) > 0 {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonInvalid, Detail: "Bluesky chat takes no attachment"}
	}
	a := s.p.account(link.ID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := credsDigest(creds); d != a.creds {
		a.creds, a.did, a.access, a.refresh = d, "", "", ""
	}
	msg := map[string]any{"text": m.Text}
	if m.ReplyTo != "" {
		msg["replyTo"] = map[string]string{"messageId": m.ReplyTo}
	}
	var out messageView
	err := s.p.chat(ctx, a, creds, http.MethodPost, "chat.bsky.convo.sendMessage", nil,
		map[string]any{"convoId": m.Conversation, "message": msg}, &out)
	if err != nil {
		return platforms.Sent{}, classify(err, creds)
	}
	if out.ID == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonPlatform, Detail: "the answer names no message"}
	}
	sent := platforms.Sent{PlatformMessageID: out.ID}
	if t, err := time.Parse(time.RFC3339Nano, out.SentAt); err == nil {
		sent.At = t.UTC()
	}
	return sent, nil
}

// classify maps sendMessage's errors: InvalidConvo (the convo is gone or not ours) and
// ConvoLocked (the person cannot be written to) fail at once; the rest as HTTP says.
func classify(err error, creds map[string]string) *platforms.SendError {
	e := pollhttp.SendError(err, creds[CredAppPassword])
	if se, ok := pollhttp.AsStatus(err); ok && se.Status == http.StatusBadRequest {
		switch se.Name {
		case "InvalidConvo":
			e.Reason = platforms.ReasonRecipient
		case "ConvoLocked":
			e.Reason = platforms.ReasonBlocked
		}
	}
	return e
}
