package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// TagProspect adds one of the team's tags to a prospect.
type TagProspect struct {
	ProspectID, TagID, IdempotencyKey string
}

// TagProspectHandler handles TagProspect.
type TagProspectHandler struct{ base }

// NewTagProspectHandler returns the handler.
func NewTagProspectHandler(d Deps) TagProspectHandler { return TagProspectHandler{base{d}} }

// Handle tags the prospect; the tag must exist in the team and not be on the prospect yet.
func (h TagProspectHandler) Handle(ctx context.Context, a Actor, c TagProspect) (Result, error) {
	if c.ProspectID != "" {
		if err := domain.RequireID("tag_id", c.TagID, domain.PrefixTag); err != nil {
			return Result{}, err
		}
	}
	return h.runProspectCommand(ctx, a, c.ProspectID, c.IdempotencyKey, prospectCommand{
		name:     "TagProspect",
		extras:   c.TagID,
		needTeam: true,
		decide: func(p *domain.Prospect, team *domain.Team) (domain.Payload, error) {
			if err := team.RequireTag(c.TagID); err != nil {
				return nil, err
			}
			return p.Tag(c.TagID)
		},
	})
}
