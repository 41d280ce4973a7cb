package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// CreateStatus creates a pipeline status with a name unique in the team (ignoring case).
type CreateStatus struct {
	Name           string
	Position       int32
	IdempotencyKey string
}

// StatusResult is the created status.
type StatusResult struct {
	Result
	StatusID, Name string
	StatusPosition int32
}

// CreateStatusHandler handles CreateStatus.
type CreateStatusHandler struct{ base }

// NewCreateStatusHandler returns the handler.
func NewCreateStatusHandler(d Deps) CreateStatusHandler { return CreateStatusHandler{base{d}} }

// Handle creates the status.
func (h CreateStatusHandler) Handle(ctx context.Context, a Actor, c CreateStatus) (StatusResult, error) {
	name, err := domain.Name("name", c.Name, 64)
	if err != nil {
		return StatusResult{}, err
	}
	if c.Position < 0 {
		return StatusResult{}, domain.Invalid("position", "must be zero or more")
	}
	return idempotent(ctx, h.base, a, "CreateStatus", c.IdempotencyKey, []any{name, c.Position}, func() (StatusResult, error) {
		id := h.newEntityID(a, domain.PrefixStatus, "CreateStatus", c.IdempotencyKey)
		r, err := h.decideOnTeam(ctx, a.TeamID, h.knownEventID(a, "CreateStatus", c.IdempotencyKey), func(t *domain.Team) ([]domain.Event, error) {
			e, err := t.CreateStatus(id, name, c.Position)
			return h.teamEvents1(a, c.IdempotencyKey, "CreateStatus", e, err)
		})
		return StatusResult{Result: r, StatusID: id, Name: name, StatusPosition: c.Position}, err
	})
}
