package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
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

// Handle unassigns; a thread assigned to nobody breaks the rule.
func (h UnassignThreadHandler) Handle(ctx context.Context, a Actor, c UnassignThread) (Result, error) {
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name: "UnassignThread",
		rule: func(_ context.Context, t projections.Thread) error {
			if t.AssigneeMemberID == "" {
				return domain.Precondition("thread %s is not assigned", t.ID)
			}
			return nil
		},
		event: func(t projections.Thread) domain.Payload {
			return domain.ThreadUnassigned{ThreadID: t.ID, ProspectID: t.ProspectID}
		},
	})
}
