package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// UnassignThread removes a thread's assignee.
type UnassignThread struct {
	ThreadID       string
	IdempotencyKey string
}

// UnassignThreadHandler handles UnassignThread.
type UnassignThreadHandler struct{ base }

// NewUnassignThreadHandler returns the handler.
func NewUnassignThreadHandler(d Deps) UnassignThreadHandler { return UnassignThreadHandler{base{d}} }

// Handle unassigns the thread; an unassigned thread breaks the rule.
func (h UnassignThreadHandler) Handle(ctx context.Context, a Actor, c UnassignThread) (Result, error) {
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name: "UnassignThread",
		decide: func(p *domain.Prospect, _ *domain.Team) (domain.Payload, error) {
			return p.Unassign(c.ThreadID)
		},
	})
}
