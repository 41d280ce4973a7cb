package commands

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
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
	// Automated: a bot or an automation wrote this outbound message (analytics exclude it).
	Automated bool
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
	// The same path as webhooks and polls: one event per platform message, whatever brings it,
	// decided by the prospect's aggregate.
	out, events, err := h.receive(ctx, ReceivePlatform{
		Link:   projections.AccountLink{ID: link.ID, TeamID: a.TeamID, Platform: link.Platform.String()},
		Origin: domain.OriginAPI, Actor: a.name(), RawContentType: c.RawContentType,
		Items: []domain.PlatformItem{domain.PlatformMessage{
			PlatformMessageID: c.PlatformMessageID, ConversationID: c.PlatformConversationID, Direction: c.Direction,
			Prospect: c.Participant, Text: c.Text, Attachments: c.Attachments, SentAt: c.SentAt,
			ReplyToPlatformMessageID: c.ReplyToPlatformMessageID, Raw: c.Raw, Automated: c.Automated,
		}},
	})
	if err != nil {
		return IngestResult{}, err
	}
	m := events[0].Payload.(domain.MessageReceived)
	// Answered once durable: the read model follows within milliseconds, and a caller that must
	// read its own write sends the returned position as a consistency token.
	return IngestResult{Result: Result{Position: out.Position, Duplicate: out.Duplicates == 1},
		MessageID: m.MessageID, ThreadID: m.ThreadID, ProspectID: m.ProspectID}, nil
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
