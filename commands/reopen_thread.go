package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// ReopenThread brings a done thread back to the inbox.
type ReopenThread struct {
	ThreadID       string
	IdempotencyKey string
}

// ReopenThreadHandler handles ReopenThread.
type ReopenThreadHandler struct{ base }

// NewReopenThreadHandler returns the handler.
func NewReopenThreadHandler(d Deps) ReopenThreadHandler { return ReopenThreadHandler{base{d}} }

// Handle reopens; a thread that is not done breaks the rule.
func (h ReopenThreadHandler) Handle(ctx context.Context, a Actor, c ReopenThread) (Result, error) {
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name: "ReopenThread",
		rule: func(_ context.Context, t projections.Thread) error {
			if !t.Done {
				return domain.Precondition("thread %s is not done", t.ID)
			}
			return nil
		},
		event: func(t projections.Thread) domain.Payload {
			return domain.ThreadReopened{ThreadID: t.ID, ProspectID: t.ProspectID}
		},
	})
}
