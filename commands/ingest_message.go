package commands

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// IngestMessage records one message of a custom source (the API channel), either direction.
type IngestMessage struct {
	AccountLinkID            string
	PlatformConversationID   string
	PlatformMessageID        string
	Direction                domain.Direction
	Participant              domain.Participant
	Text                     string
	Attachments              []domain.Attachment
	SentAt                   time.Time
	ReplyToPlatformMessageID string
	// Raw is the request as received, kept in the event for re-projection.
	Raw            []byte
	RawContentType string
}

// IngestResult names what the message became.
type IngestResult struct {
	Result
	MessageID, ThreadID, ProspectID string
}

// IngestMessageHandler handles IngestMessage.
type IngestMessageHandler struct{ base }

// NewIngestMessageHandler returns the handler.
func NewIngestMessageHandler(d Deps) IngestMessageHandler { return IngestMessageHandler{base{d}} }

// Limits of an ingested message.
const (
	MaxTextLength  = 20000
	MaxAttachments = 20
)

var attachmentTypes = map[string]bool{"image": true, "video": true, "audio": true, "file": true,
	"sticker": true, "share": true, "story": true}

// Handle validates the message and appends message.received, answering once it is durable. Its ids derive from the account
// link and the platform's ids, so a repeat maps to the same message, reports Duplicate and
// appends nothing.
func (h IngestMessageHandler) Handle(ctx context.Context, a Actor, c IngestMessage) (IngestResult, error) {
	if err := validateIngest(c); err != nil {
		return IngestResult{}, err
	}
	link, err := h.activeLink(ctx, a.TeamID, c.AccountLinkID)
	if err != nil {
		return IngestResult{}, err
	}
	platform, err := domain.ParsePlatform(link.Platform)
	if err != nil {
		return IngestResult{}, err
	}
	conv := c.PlatformConversationID
	if conv == "" {
		conv = c.Participant.PlatformID
	}
	msgID := domain.MessageID(a.TeamID, platform, link.ID, c.PlatformMessageID)
	threadID := domain.ThreadID(a.TeamID, platform, link.ID, conv)
	prospectID := domain.ProspectID(a.TeamID, platform, c.Participant.PlatformID)
	replyTo := ""
	if c.ReplyToPlatformMessageID != "" {
		replyTo = domain.MessageID(a.TeamID, platform, link.ID, c.ReplyToPlatformMessageID)
	}
	sent := c.SentAt.UTC()
	now := h.now()
	if sent.IsZero() {
		sent = now
	}
	e := h.newEvent(a, prospectID, "", "IngestMessage", 0, domain.MessageReceived{
		MessageID: msgID, ThreadID: threadID, ProspectID: prospectID, AccountLinkID: link.ID,
		Platform: platform, PlatformMessageID: c.PlatformMessageID, PlatformConversationID: conv,
		Direction: c.Direction, Prospect: c.Participant, Text: c.Text, Attachments: c.Attachments,
		SentAt: sent, ReplyToPlatformMessageID: c.ReplyToPlatformMessageID, ReplyToMessageID: replyTo,
		Raw: c.Raw, RawContentType: c.RawContentType,
	})
	// One event per platform message, whatever path brings it: the log refuses the repeat.
	e.ID = domain.DeriveID(domain.PrefixEvent, msgID, domain.TypeMessageReceived)
	e.OccurredAt = sent
	// Answered once durable: the read model follows within milliseconds, and a caller that must
	// read its own write sends the returned position as a consistency token.
	r, _, err := h.appendDurable(ctx, e)
	return IngestResult{Result: r, MessageID: msgID, ThreadID: threadID, ProspectID: prospectID}, err
}

func validateIngest(c IngestMessage) error {
	if err := domain.RequireID("account_link_id", c.AccountLinkID, domain.PrefixAccount); err != nil {
		return err
	}
	if c.PlatformMessageID == "" {
		return domain.Invalid("platform_message_id", "is required")
	}
	if err := domain.MaxLen("platform_message_id", c.PlatformMessageID, 256); err != nil {
		return err
	}
	if err := domain.MaxLen("platform_conversation_id", c.PlatformConversationID, 256); err != nil {
		return err
	}
	if c.Direction.IsZero() {
		return domain.Invalid("direction", "is required: DIRECTION_INBOUND or DIRECTION_OUTBOUND")
	}
	if c.Participant.PlatformID == "" {
		return domain.Invalid("participant.platform_id", "is required")
	}
	for _, f := range []struct{ name, v string }{
		{"participant.platform_id", c.Participant.PlatformID}, {"participant.username", c.Participant.Username},
		{"participant.display_name", c.Participant.DisplayName}, {"participant.avatar_url", c.Participant.AvatarURL},
	} {
		if err := domain.MaxLen(f.name, f.v, 2048); err != nil {
			return err
		}
	}
	if c.Text == "" && len(c.Attachments) == 0 {
		return domain.Invalid("text", "is required when there are no attachments")
	}
	if err := domain.MaxLen("text", c.Text, MaxTextLength); err != nil {
		return err
	}
	if len(c.Attachments) > MaxAttachments {
		return domain.Invalid("attachments", "must be at most %d", MaxAttachments)
	}
	for _, at := range c.Attachments {
		if !attachmentTypes[at.Type] {
			return domain.Invalid("attachments.type", "must be one of image, video, audio, file, sticker, share, story; got %q", at.Type)
		}
		if len(at.URL) > 4096 || len(at.Name) > 512 || len(at.MimeType) > 255 || len(at.PlatformID) > 512 {
			return domain.Invalid("attachments", "url, name, mime_type or platform_id too long")
		}
	}
	if !c.SentAt.IsZero() && (c.SentAt.Year() < 1990 || c.SentAt.After(time.Now().Add(24*time.Hour))) {
		return domain.Invalid("sent_at", "must be between 1990 and one day from now")
	}
	return nil
}
