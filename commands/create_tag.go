package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// CreateTag creates a tag with a name unique in the team (ignoring case).
type CreateTag struct {
	Name, Color, IdempotencyKey string
}

// TagResult is the created tag.
type TagResult struct {
	Result
	TagID, Name, Color string
}

// CreateTagHandler handles CreateTag.
type CreateTagHandler struct{ base }

// NewCreateTagHandler returns the handler.
func NewCreateTagHandler(d Deps) CreateTagHandler { return CreateTagHandler{base{d}} }

// Handle creates the tag.
func (h CreateTagHandler) Handle(ctx context.Context, a Actor, c CreateTag) (TagResult, error) {
	name, err := domain.Name("name", c.Name, 64)
	if err != nil {
		return TagResult{}, err
	}
	color, err := domain.Color("color", c.Color)
	if err != nil {
		return TagResult{}, err
	}
	return idempotent(ctx, h.base, a, "CreateTag", c.IdempotencyKey, []string{name, color}, func() (TagResult, error) {
		id := h.newEntityID(a, domain.PrefixTag, "CreateTag", c.IdempotencyKey)
		r, err := h.decideOnTeam(ctx, a.TeamID, h.knownEventID(a, "CreateTag", c.IdempotencyKey), func(t *domain.Team) ([]domain.Event, error) {
			e, err := t.CreateTag(id, name, color)
			return h.teamEvents1(a, c.IdempotencyKey, "CreateTag", e, err)
		})
		return TagResult{Result: r, TagID: id, Name: name, Color: color}, err
	})
}
