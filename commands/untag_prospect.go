package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// UntagProspect removes a tag from a prospect.
type UntagProspect struct {
	ProspectID, TagID, IdempotencyKey string
}

// UntagProspectHandler handles UntagProspect.
type UntagProspectHandler struct{ base }

// NewUntagProspectHandler returns the handler.
func NewUntagProspectHandler(d Deps) UntagProspectHandler { return UntagProspectHandler{base{d}} }

// Handle removes the tag; the prospect must have it.
func (h UntagProspectHandler) Handle(ctx context.Context, a Actor, c UntagProspect) (Result, error) {
	if c.ProspectID != "" {
		if err := domain.RequireID("tag_id", c.TagID, domain.PrefixTag); err != nil {
			return Result{}, err
		}
	}
	return h.runProspectCommand(ctx, a, c.ProspectID, c.IdempotencyKey, prospectCommand{
		name:     "UntagProspect",
		extras:   c.TagID,
		needTeam: true,
		decide: func(p *domain.Prospect, team *domain.Team) (domain.Payload, error) {
			if err := team.RequireTag(c.TagID); err != nil {
				return nil, err
			}
			return p.Untag(c.TagID)
		},
	})
}
