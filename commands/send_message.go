package commands

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// CredHumanAgent is the link setting (kept with its credentials) by which a team enables Meta's
// HUMAN_AGENT tag: answers up to 7 days after the person's last message instead of 24 hours.
const CredHumanAgent = "human_agent"

// SendMessage asks to send a reply on a thread.
type SendMessage struct {
	ThreadID         string
	Text             string
	Attachments      []domain.Attachment
	ReplyToMessageID string
	IdempotencyKey   string
	// Template is an approved template sent instead of text (WhatsApp), or nil.
	Template *domain.Template
}

// SendResult is the reply as recorded: pending until a sender attempts it.
type SendResult struct {
	Result
	Message projections.Message `json:"message"`
}

// SendMessageHandler handles SendMessage.
type SendMessageHandler struct{ base }

// NewSendMessageHandler returns the handler.
func NewSendMessageHandler(d Deps) SendMessageHandler { return SendMessageHandler{base{d}} }

// Handle checks the reply against the platform's capabilities and the link, lets the
// Prospect aggregate decide the window rule, and appends message.send_requested with a new
// msg_ id. It answers once the event is durable; the sender role sends it. The same
// idempotency key answers the same message and appends nothing.
func (h SendMessageHandler) Handle(ctx context.Context, a Actor, c SendMessage) (SendResult, error) {
	if err := domain.RequireID("thread_id", c.ThreadID, domain.PrefixThread); err != nil {
		return SendResult{}, err
	}
	if err := domain.CheckID("reply_to_message_id", c.ReplyToMessageID, domain.PrefixMessage); err != nil {
		return SendResult{}, err
	}
	return idempotent(ctx, h.base, a, "SendMessage", c.IdempotencyKey, c, func() (SendResult, error) {
		return h.send(ctx, a, c)
	})
}

func (h SendMessageHandler) send(ctx context.Context, a Actor, c SendMessage) (SendResult, error) {
	prospectID, err := h.prospectOf(ctx, a.TeamID, c.ThreadID)
	if err != nil {
		return SendResult{}, err
	}
	p, err := h.model().prospects.load(ctx, a.TeamID, prospectID, 0)
	if err != nil {
		return SendResult{}, err
	}
	th, err := p.Thread(c.ThreadID)
	if err != nil {
		return SendResult{}, err
	}
	team, err := h.teamNow(ctx, a.TeamID) // the link's health may have changed through the sender
	if err != nil {
		return SendResult{}, err
	}
	link, err := team.ActiveLink(th.AccountLinkID)
	if err != nil {
		return SendResult{}, err
	}
	if !link.Healthy {
		return SendResult{}, domain.Precondition("account link %s is not healthy (%s): link it again with working credentials", link.ID, link.HealthReason)
	}
	caps := domain.CapabilitiesOf(link.Platform)
	if c.Template != nil {
		if err := caps.CheckTemplate(link.Platform, *c.Template, c.Text, c.Attachments); err != nil {
			return SendResult{}, err
		}
	} else if err := caps.CheckOutgoing(link.Platform, c.Text, c.Attachments, c.ReplyToMessageID != ""); err != nil {
		return SendResult{}, err
	}
	req := domain.MessageSendRequested{ThreadID: c.ThreadID, Platform: link.Platform, Text: c.Text, Attachments: c.Attachments,
		ReplyToMessageID: c.ReplyToMessageID, Template: c.Template}
	if c.Template != nil {
		req.Text = c.Template.Summary() // what the thread shows; the sender sends the template
	}
	if c.ReplyToMessageID != "" {
		m, err := h.State.Message(ctx, a.TeamID, c.ReplyToMessageID)
		if err := found(err, "message", c.ReplyToMessageID); err != nil {
			return SendResult{}, err
		}
		if m.ThreadID != c.ThreadID || m.PlatformID == "" {
			return SendResult{}, domain.Invalid("reply_to_message_id", "must be a message of the thread the platform knows")
		}
		req.ReplyToPlatformMessageID = m.PlatformID
	}
	humanAgent := false
	if caps.Window == domain.WindowMeta && h.Credentials != nil {
		creds, err := h.Credentials.Get(ctx, a.TeamID, link.ID)
		if err != nil {
			return SendResult{}, domain.Unavailable("the credential store", err)
		}
		humanAgent = creds[CredHumanAgent] == "true"
	}
	req.MessageID = h.newEntityID(a, domain.PrefixMessage, "SendMessage", c.IdempotencyKey)
	rules := domain.SendRules{Now: h.now(), Capabilities: caps, HumanAgent: humanAgent}
	var (
		decided domain.MessageSendRequested
		at      = h.now()
	)
	res, err := h.decideOnProspect(ctx, a.TeamID, prospectID, h.knownEventID(a, "SendMessage", c.IdempotencyKey),
		func(p *domain.Prospect) ([]domain.Event, error) {
			r, err := p.RequestSend(req, rules)
			if err != nil {
				return nil, err
			}
			decided = r
			e := h.newEvent(a, prospectID, c.IdempotencyKey, "SendMessage", 0, r)
			at = e.OccurredAt
			return []domain.Event{e}, nil
		})
	if err != nil {
		return SendResult{}, err
	}
	if decided.MessageID == "" { // a retry whose first outcome was lost: the stream has it
		if p, err := h.model().prospects.load(ctx, a.TeamID, prospectID, 0); err == nil {
			if o, ok := p.Outgoing(req.MessageID); ok {
				decided = o.Request
			}
		}
	}
	return SendResult{Result: res, Message: pendingMessage(a.TeamID, decided, at)}, nil
}

// pendingMessage is the read model's view of a reply just requested.
func pendingMessage(team string, r domain.MessageSendRequested, at time.Time) projections.Message {
	atts := make([]projections.Attachment, len(r.Attachments))
	for i, a := range r.Attachments {
		atts[i] = projections.Attachment{Type: a.Type, URL: a.URL, MimeType: a.MimeType, PlatformID: a.PlatformID, Name: a.Name}
	}
	return projections.Message{ID: r.MessageID, TeamID: team, ThreadID: r.ThreadID, ProspectID: r.ProspectID,
		AccountLinkID: r.AccountLinkID, Platform: r.Platform.String(), Direction: domain.Outbound.String(), Text: r.Text,
		Attachments: atts, SentAt: at, ReplyToMessageID: r.ReplyToMessageID, Status: projections.SendPending}
}
