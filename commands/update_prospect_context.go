package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
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

// Handle validates the context and records it.
func (h UpdateProspectContextHandler) Handle(ctx context.Context, a Actor, c UpdateProspectContext) (Result, error) {
	if c.ProspectID != "" {
		if _, err := domain.NewProspectContext(c.Notes, c.Valuation, c.CustomFields); err != nil {
			return Result{}, err
		}
	}
	pc, _ := domain.NewProspectContext(c.Notes, c.Valuation, c.CustomFields)
	return h.runProspectCommand(ctx, a, c.ProspectID, c.IdempotencyKey, prospectCommand{
		name:   "UpdateProspectContext",
		extras: pc,
		event: func(p projections.Prospect) domain.Payload {
			return domain.ProspectContextUpdated{ProspectID: p.ID, Notes: pc.Notes, Valuation: pc.Valuation, CustomFields: pc.CustomFields}
		},
	})
}
