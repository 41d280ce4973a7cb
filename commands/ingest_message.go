package commands

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
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

// Handle validates the message and appends message.received, answering once it is durable. Its
// ids derive from the account link and the platform's ids, so a repeat maps to the same message,
// reports Duplicate and appends nothing. It is a batch of one (HandleBatch).
func (h IngestMessageHandler) Handle(ctx context.Context, a Actor, c IngestMessage) (IngestResult, error) {
	out, _, err := h.ingest(ctx, a, []IngestMessage{c})
	if err != nil {
		return IngestResult{}, err
	}
	if out[0].Err != nil {
		return IngestResult{}, out[0].Err
	}
	return out[0].IngestResult, nil
}

// MaxIngestBatch is how many messages one IngestMessages call may carry.
const MaxIngestBatch = 500

// IngestItem is the outcome of one message of a batch: what it became, or Err (then nothing was
// recorded for it).
type IngestItem struct {
	IngestResult
	Err error
}

// HandleBatch records up to MaxIngestBatch messages with one lookup per distinct account link
// and one append of every good message's event (durable before it answers). Each message is
// judged as Handle judges it: out[i] is messages[i]'s outcome, a bad message failing alone.
// Only a batch that is empty or too long, or an engine failure, fails the call (nothing is
// recorded). cur covers every event of the batch: the consistency token of reading them all.
func (h IngestMessageHandler) HandleBatch(ctx context.Context, a Actor, messages []IngestMessage) (out []IngestItem, cur eventlog.Cursor, err error) {
	if len(messages) == 0 {
		return nil, nil, domain.Invalid("messages", "is required: 1 to %d messages", MaxIngestBatch)
	}
	if len(messages) > MaxIngestBatch {
		return nil, nil, domain.Invalid("messages", "must have at most %d messages, got %d", MaxIngestBatch, len(messages))
	}
	return h.ingest(ctx, a, messages)
}

func (h IngestMessageHandler) ingest(ctx context.Context, a Actor, messages []IngestMessage) ([]IngestItem, eventlog.Cursor, error) {
	out := make([]IngestItem, len(messages))
	// One lookup per distinct account link; the links in order of first use.
	type linkBatch struct {
		link  domain.AccountLink
		err   error
		items []int
	}
	links := map[string]*linkBatch{}
	var order []*linkBatch
	for i, c := range messages {
		if out[i].Err = validateIngest(c); out[i].Err != nil {
			continue
		}
		lb, ok := links[c.AccountLinkID]
		if !ok {
			lb = &linkBatch{}
			lb.link, lb.err = h.activeLink(ctx, a.TeamID, c.AccountLinkID)
			if k := domain.KindOf(lb.err); lb.err != nil && (k == domain.KindInternal || k == domain.KindUnavailable) {
				return nil, nil, lb.err // the engine, not the message: nothing recorded
			}
			links[c.AccountLinkID] = lb
			order = append(order, lb)
		}
		if lb.err != nil {
			out[i].Err = lb.err
			continue
		}
		lb.items = append(lb.items, i)
	}
	// The same path as webhooks and polls: one event per platform message, whatever brings it,
	// decided by the prospect's aggregate. Every link's events go in one append.
	var batches []ReceivePlatform
	for _, lb := range order {
		if len(lb.items) == 0 {
			continue
		}
		r := ReceivePlatform{
			Link:   projections.AccountLink{ID: lb.link.ID, TeamID: a.TeamID, Platform: lb.link.Platform.String()},
			Origin: domain.OriginAPI, Actor: a.name(),
		}
		for _, i := range lb.items {
			c := messages[i]
			r.RawContentType = c.RawContentType
			r.Items = append(r.Items, domain.PlatformMessage{
				PlatformMessageID: c.PlatformMessageID, ConversationID: c.PlatformConversationID, Direction: c.Direction,
				Prospect: c.Participant, Text: c.Text, Attachments: c.Attachments, SentAt: c.SentAt,
				ReplyToPlatformMessageID: c.ReplyToPlatformMessageID, Raw: c.Raw, Automated: c.Automated,
			})
		}
		batches = append(batches, r)
	}
	if len(batches) == 0 {
		return out, nil, nil
	}
	events, res, item, err := h.receiveBatch(ctx, a.TeamID, batches)
	if err != nil {
		return nil, nil, err
	}
	// item[k] is the k-th item over the batches, in order: one event each (validated messages).
	cur := eventlog.Cursor{}
	k := 0
	for _, lb := range order {
		if lb.err != nil {
			continue
		}
		for _, i := range lb.items {
			it := item[k]
			k++
			j := it.event
			m := events[j].Payload.(domain.MessageReceived)
			r := IngestResult{Result: Result{Duplicate: res[j].Duplicate || it.repeat}, MessageID: m.MessageID, ThreadID: m.ThreadID, ProspectID: m.ProspectID}
			if res[j] != (eventlog.AppendResult{Duplicate: true}) {
				r.Position = res[j].Position.String()
				cur.Advance(res[j].Position)
			}
			out[i].IngestResult = r
		}
	}
	// Answered once durable: the read model follows within milliseconds, and a caller that must
	// read its own write sends the returned position as a consistency token.
	return out, cur, nil
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
