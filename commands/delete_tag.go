package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// DeleteTag deletes a tag, which leaves every prospect that had it.
type DeleteTag struct {
	TagID, IdempotencyKey string
}

// DeleteTagHandler handles DeleteTag.
type DeleteTagHandler struct{ base }

// NewDeleteTagHandler returns the handler.
func NewDeleteTagHandler(d Deps) DeleteTagHandler { return DeleteTagHandler{base{d}} }

// Handle deletes the tag; it must exist in the team.
func (h DeleteTagHandler) Handle(ctx context.Context, a Actor, c DeleteTag) (Result, error) {
	if err := domain.RequireID("tag_id", c.TagID, domain.PrefixTag); err != nil {
		return Result{}, err
	}
	return idempotent(ctx, h.base, a, "DeleteTag", c.IdempotencyKey, c.TagID, func() (Result, error) {
		return h.decideOnTeam(ctx, a.TeamID, h.knownEventID(a, "DeleteTag", c.IdempotencyKey), func(t *domain.Team) ([]domain.Event, error) {
			e, err := t.DeleteTag(c.TagID)
			return h.teamEvents1(a, c.IdempotencyKey, "DeleteTag", e, err)
		})
	})
}
