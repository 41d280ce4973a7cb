package commands

import (
	"context"
	"strconv"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// SendSagaHandler records what the sender role does with a reply: the attempt, durably before
// the platform is called, then its outcome. Every decision is the Prospect aggregate's.
type SendSagaHandler struct{ base }

// NewSendSagaHandler returns the handler.
func NewSendSagaHandler(d Deps) SendSagaHandler { return SendSagaHandler{base{d}} }

// SendAction is what the sender must do with a reply.
type SendAction int

const (
	// SendSkip: nothing (the reply is not pending: sent, failed, cancelled, or not ours).
	SendSkip SendAction = iota
	// SendAttempt: message.send_attempted is durable; call the platform.
	SendAttempt
	// SendReconcile: an earlier attempt has no outcome (a sender died during it): look for the
	// message on the platform where it can be looked for, and never send it again blindly.
	SendReconcile
)

// Begin decides what the sender does with a reply, and for an attempt appends
// message.send_attempted first.
func (h SendSagaHandler) Begin(ctx context.Context, teamID, prospectID, messageID string) (SendAction, domain.OutgoingSend, error) {
	var (
		action = SendSkip
		out    domain.OutgoingSend
	)
	_, err := h.model().prospects.update(ctx, teamID, prospectID, "", func(p *domain.Prospect) ([]domain.Event, error) {
		action = SendSkip
		o, ok := p.Outgoing(messageID)
		if !ok || o.Status != domain.SendPending {
			return nil, nil
		}
		out = o
		if o.InFlight {
			action = SendReconcile
			return nil, nil
		}
		att, err := p.AttemptSend(messageID)
		if err != nil {
			return nil, err
		}
		action = SendAttempt
		out.Attempts = att.Attempt
		id := domain.DeriveID(domain.PrefixEvent, messageID, domain.TypeMessageSendAttempted, strconv.Itoa(int(att.Attempt)))
		return []domain.Event{h.systemEvent(id, teamID, prospectID, att)}, nil
	})
	if err != nil {
		return SendSkip, out, err
	}
	return action, out, nil
}

// Sent records that the platform has the reply.
func (h SendSagaHandler) Sent(ctx context.Context, teamID, prospectID, messageID, platformMessageID string, at time.Time) error {
	_, err := h.model().prospects.update(ctx, teamID, prospectID, "", func(p *domain.Prospect) ([]domain.Event, error) {
		ev, changed, err := p.RecordSent(messageID, platformMessageID, at)
		if err != nil || !changed {
			return nil, err
		}
		return []domain.Event{h.systemEvent(domain.DeriveID(domain.PrefixEvent, messageID, domain.TypeMessageSent, platformMessageID),
			teamID, prospectID, ev)}, nil
	})
	return err
}

// Failed records that the reply's attempt failed (reason: a stable code; code: the platform's).
func (h SendSagaHandler) Failed(ctx context.Context, teamID, prospectID, messageID, reason string, permanent bool, code string) error {
	_, err := h.model().prospects.update(ctx, teamID, prospectID, "", func(p *domain.Prospect) ([]domain.Event, error) {
		o, _ := p.Outgoing(messageID)
		if o.Status != domain.SendPending {
			return nil, nil // the platform already told us what became of it (an echo, a receipt)
		}
		ev, changed, err := p.RecordSendFailed(messageID, reason, permanent, code)
		if err != nil || !changed {
			return nil, err
		}
		id := domain.DeriveID(domain.PrefixEvent, messageID, domain.TypeMessageSendFailed, strconv.Itoa(int(o.Attempts)))
		return []domain.Event{h.systemEvent(id, teamID, prospectID, ev)}, nil
	})
	return err
}

func (h SendSagaHandler) systemEvent(id, teamID, key string, p domain.Payload) domain.Event {
	now := h.now()
	return domain.Event{ID: id, TeamID: teamID, Key: key, OccurredAt: now, RecordedAt: now, Actor: domain.ActorSystem,
		Origin: domain.OriginSystem, Payload: p}
}
