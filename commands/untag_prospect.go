package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// UntagProspect removes a tag from a prospect.
type UntagProspect struct {
	ProspectID, TagID, IdempotencyKey string
}

// UntagProspectHandler handles UntagProspect.
type UntagProspectHandler struct{ base }

// NewUntagProspectHandler returns the handler.
func NewUntagProspectHandler(d Deps) UntagProspectHandler { return UntagProspectHandler{base{d}} }

// Handle untags the prospect; the prospect must have the tag.
func (h UntagProspectHandler) Handle(ctx context.Context, a Actor, c UntagProspect) (Result, error) {
	if c.ProspectID != "" {
		if err := domain.RequireID("tag_id", c.TagID, domain.PrefixTag); err != nil {
			return Result{}, err
		}
	}
	return h.runProspectCommand(ctx, a, c.ProspectID, c.IdempotencyKey, prospectCommand{
		name:   "UntagProspect",
		extras: c.TagID,
		rule: func(ctx context.Context, p projections.Prospect) error {
			if _, err := h.State.Tag(ctx, a.TeamID, c.TagID); err != nil {
				return found(err, "tag", c.TagID)
			}
			if !hasTag(p, c.TagID) {
				return domain.Precondition("prospect %s does not have tag %s", p.ID, c.TagID)
			}
			return nil
		},
		event: func(p projections.Prospect) domain.Payload {
			return domain.ProspectUntagged{ProspectID: p.ID, TagID: c.TagID}
		},
	})
}
