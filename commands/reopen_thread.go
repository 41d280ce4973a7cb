package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
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

// Handle reopens the thread; a thread that is not done breaks the rule.
func (h ReopenThreadHandler) Handle(ctx context.Context, a Actor, c ReopenThread) (Result, error) {
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name: "ReopenThread",
		decide: func(p *domain.Prospect, _ *domain.Team) (domain.Payload, error) {
			return p.Reopen(c.ThreadID)
		},
	})
}
