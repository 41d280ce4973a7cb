package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// MarkThreadRead marks every message of a thread read.
type MarkThreadRead struct {
	ThreadID       string
	IdempotencyKey string
}

// MarkThreadReadHandler handles MarkThreadRead.
type MarkThreadReadHandler struct{ base }

// NewMarkThreadReadHandler returns the handler.
func NewMarkThreadReadHandler(d Deps) MarkThreadReadHandler { return MarkThreadReadHandler{base{d}} }

// Handle records that the team read the thread.
func (h MarkThreadReadHandler) Handle(ctx context.Context, a Actor, c MarkThreadRead) (Result, error) {
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name: "MarkThreadRead",
		decide: func(p *domain.Prospect, _ *domain.Team) (domain.Payload, error) {
			return p.MarkRead(c.ThreadID)
		},
	})
}
