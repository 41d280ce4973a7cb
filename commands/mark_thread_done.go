package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// MarkThreadDone archives a thread until a new inbound message arrives.
type MarkThreadDone struct {
	ThreadID       string
	IdempotencyKey string
}

// MarkThreadDoneHandler handles MarkThreadDone.
type MarkThreadDoneHandler struct{ base }

// NewMarkThreadDoneHandler returns the handler.
func NewMarkThreadDoneHandler(d Deps) MarkThreadDoneHandler { return MarkThreadDoneHandler{base{d}} }

// Handle marks the thread done; a done thread breaks the rule.
func (h MarkThreadDoneHandler) Handle(ctx context.Context, a Actor, c MarkThreadDone) (Result, error) {
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name: "MarkThreadDone",
		decide: func(p *domain.Prospect, _ *domain.Team) (domain.Payload, error) {
			return p.MarkDone(c.ThreadID)
		},
	})
}
