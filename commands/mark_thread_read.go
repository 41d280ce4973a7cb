package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
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

// Handle marks the thread read. Reading a read thread is harmless and recorded: it says who
// looked, and when.
func (h MarkThreadReadHandler) Handle(ctx context.Context, a Actor, c MarkThreadRead) (Result, error) {
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name: "MarkThreadRead",
		event: func(t projections.Thread) domain.Payload {
			return domain.ThreadRead{ThreadID: t.ID, ProspectID: t.ProspectID}
		},
	})
}
