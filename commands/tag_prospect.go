package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
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
		name:   "TagProspect",
		extras: c.TagID,
		rule: func(ctx context.Context, p projections.Prospect) error {
			if _, err := h.State.Tag(ctx, a.TeamID, c.TagID); err != nil {
				return found(err, "tag", c.TagID)
			}
			if hasTag(p, c.TagID) {
				return domain.Precondition("prospect %s already has tag %s", p.ID, c.TagID)
			}
			return nil
		},
		event: func(p projections.Prospect) domain.Payload {
			return domain.ProspectTagged{ProspectID: p.ID, TagID: c.TagID}
		},
	})
}
