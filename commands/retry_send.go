package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// RetrySend asks for a new attempt of a failed reply (the same message).
type RetrySend struct{ MessageID, IdempotencyKey string }

// RetrySendHandler handles RetrySend.
type RetrySendHandler struct{ base }

// NewRetrySendHandler returns the handler.
func NewRetrySendHandler(d Deps) RetrySendHandler { return RetrySendHandler{base{d}} }

// Handle appends message.send_retried; a message already pending again is answered as it is.
func (h RetrySendHandler) Handle(ctx context.Context, a Actor, c RetrySend) (SendResult, error) {
	if err := domain.RequireID("message_id", c.MessageID, domain.PrefixMessage); err != nil {
		return SendResult{}, err
	}
	return idempotent(ctx, h.base, a, "RetrySend", c.IdempotencyKey, c, func() (SendResult, error) {
		res, o, err := h.onReply(ctx, a, c.MessageID, c.IdempotencyKey, "RetrySend", func(p *domain.Prospect) (domain.Payload, bool, error) {
			return p.RetrySend(c.MessageID)
		})
		if err != nil {
			return SendResult{}, err
		}
		m := pendingMessage(a.TeamID, o.Request, h.now())
		if cur, err := h.State.Message(ctx, a.TeamID, c.MessageID); err == nil {
			m.SentAt, m.PlatformID = cur.SentAt, cur.PlatformID
		}
		return SendResult{Result: res, Message: m}, nil
	})
}

// CancelSend withdraws a pending reply no sender has attempted.
type CancelSend struct{ MessageID, IdempotencyKey string }

// CancelSendHandler handles CancelSend.
type CancelSendHandler struct{ base }

// NewCancelSendHandler returns the handler.
func NewCancelSendHandler(d Deps) CancelSendHandler { return CancelSendHandler{base{d}} }

// Handle appends message.send_cancelled; a message already cancelled is answered as it is.
func (h CancelSendHandler) Handle(ctx context.Context, a Actor, c CancelSend) (Result, error) {
	if err := domain.RequireID("message_id", c.MessageID, domain.PrefixMessage); err != nil {
		return Result{}, err
	}
	return idempotent(ctx, h.base, a, "CancelSend", c.IdempotencyKey, c, func() (Result, error) {
		res, _, err := h.onReply(ctx, a, c.MessageID, c.IdempotencyKey, "CancelSend", func(p *domain.Prospect) (domain.Payload, bool, error) {
			return p.CancelSend(c.MessageID)
		})
		return res, err
	})
}

// onReply runs a team member's decision on one of the team's replies: the message must be one
// of the team's (another team's is not found) and one of our replies.
func (b base) onReply(ctx context.Context, a Actor, messageID, idemKey, name string,
	decide func(*domain.Prospect) (domain.Payload, bool, error)) (Result, domain.OutgoingSend, error) {
	m, err := b.State.Message(ctx, a.TeamID, messageID)
	if err := found(err, "message", messageID); err != nil {
		return Result{}, domain.OutgoingSend{}, err
	}
	var out domain.OutgoingSend
	res, err := b.decideOnProspect(ctx, a.TeamID, m.ProspectID, b.knownEventID(a, name, idemKey), func(p *domain.Prospect) ([]domain.Event, error) {
		o, ok := p.Outgoing(messageID)
		if !ok {
			return nil, domain.Precondition("message %s is not one of the team's replies", messageID)
		}
		out = o
		payload, changed, err := decide(p)
		if err != nil || !changed {
			return nil, err
		}
		return []domain.Event{b.newEvent(a, m.ProspectID, idemKey, name, 0, payload)}, nil
	})
	return res, out, err
}
