package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
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

// Handle assigns the thread to a member of the team; it answers the thread's request.
func (h AssignThreadHandler) Handle(ctx context.Context, a Actor, c AssignThread) (Result, error) {
	if err := domain.RequireID("member_id", c.MemberID, domain.PrefixMember); err != nil {
		if c.ThreadID == "" { // name the first missing field first
			return Result{}, domain.RequireID("thread_id", c.ThreadID, domain.PrefixThread)
		}
		return Result{}, err
	}
	return h.runThreadCommand(ctx, a, c.ThreadID, c.IdempotencyKey, threadCommand{
		name:     "AssignThread",
		extras:   c.MemberID,
		needTeam: true,
		decide: func(p *domain.Prospect, team *domain.Team) (domain.Payload, error) {
			if _, err := team.Member(c.MemberID); err != nil {
				return nil, err
			}
			return p.Assign(c.ThreadID, c.MemberID)
		},
	})
}
