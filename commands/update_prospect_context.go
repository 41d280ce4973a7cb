package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// UpdateProspectContext replaces the team's notes, valuation and custom fields on a prospect.
type UpdateProspectContext struct {
	ProspectID     string
	Notes          string
	Valuation      float64
	CustomFields   map[string]string
	IdempotencyKey string
}

// UpdateProspectContextHandler handles UpdateProspectContext.
type UpdateProspectContextHandler struct{ base }

// NewUpdateProspectContextHandler returns the handler.
func NewUpdateProspectContextHandler(d Deps) UpdateProspectContextHandler {
	return UpdateProspectContextHandler{base{d}}
}

// Handle replaces the prospect's context.
func (h UpdateProspectContextHandler) Handle(ctx context.Context, a Actor, c UpdateProspectContext) (Result, error) {
	pc, err := domain.NewProspectContext(c.Notes, c.Valuation, c.CustomFields)
	if err != nil && c.ProspectID != "" {
		return Result{}, err
	}
	return h.runProspectCommand(ctx, a, c.ProspectID, c.IdempotencyKey, prospectCommand{
		name:   "UpdateProspectContext",
		extras: pc,
		decide: func(p *domain.Prospect, _ *domain.Team) (domain.Payload, error) {
			return p.UpdateContext(pc)
		},
	})
}
