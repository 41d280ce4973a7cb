package commands

import (
	"context"
	"strings"

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
		statuses, err := h.State.Statuses(ctx, a.TeamID)
		if err != nil {
			return StatusResult{}, domain.Unavailable("the read model", err)
		}
		for _, s := range statuses {
			if strings.EqualFold(s.Name, name) {
				return StatusResult{}, domain.AlreadyExists("a status named %q already exists", s.Name)
			}
		}
		id := h.newEntityID(a, domain.PrefixStatus, "CreateStatus", c.IdempotencyKey)
		r, err := h.append(ctx, h.newEvent(a, a.TeamID, c.IdempotencyKey, "CreateStatus", 0,
			domain.StatusCreated{StatusID: id, Name: name, Position: c.Position}))
		return StatusResult{Result: r, StatusID: id, Name: name, StatusPosition: c.Position}, err
	})
}
