package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// AssignThread gives a thread to a member of the team.
type AssignThread struct {
	ThreadID       string
	MemberID       string
	IdempotencyKey string
}

// AssignThreadHandler handles AssignThread.
type AssignThreadHandler struct{ base }

// NewAssignThreadHandler returns the handler.
func NewAssignThreadHandler(d Deps) AssignThreadHandler { return AssignThreadHandler{base{d}} }

// Handle assigns the thread; the member must belong to the team.
func (h AssignThreadHandler) Handle(ctx context.Context, a Actor, c AssignThread) (Result, error) {
	if err := domain.RequireID("member_id", c.MemberID, domain.PrefixMember); err != nil {
		if c.ThreadID == "" { // name the first missing field first
			return Result{}, domain.RequireID("thread_id", c.ThreadID, domain.PrefixThread)
		}
		return Result{}, err
	}
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name:   "AssignThread",
		extras: c.MemberID,
		rule: func(ctx context.Context, _ projections.Thread) error {
			_, err := h.State.Member(ctx, a.TeamID, c.MemberID)
			return found(err, "member", c.MemberID)
		},
		event: func(t projections.Thread) domain.Payload {
			return domain.ThreadAssigned{ThreadID: t.ID, ProspectID: t.ProspectID, MemberID: c.MemberID}
		},
	})
}
