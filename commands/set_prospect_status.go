package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// SetProspectStatus sets a prospect's pipeline status; an empty StatusID clears it.
type SetProspectStatus struct {
	ProspectID, StatusID, IdempotencyKey string
}

// SetProspectStatusHandler handles SetProspectStatus.
type SetProspectStatusHandler struct{ base }

// NewSetProspectStatusHandler returns the handler.
func NewSetProspectStatusHandler(d Deps) SetProspectStatusHandler {
	return SetProspectStatusHandler{base{d}}
}

// Handle sets the status (empty clears it); a status must exist in the team.
func (h SetProspectStatusHandler) Handle(ctx context.Context, a Actor, c SetProspectStatus) (Result, error) {
	if c.ProspectID != "" {
		if err := domain.CheckID("status_id", c.StatusID, domain.PrefixStatus); err != nil {
			return Result{}, err
		}
	}
	return h.runProspectCommand(ctx, a, c.ProspectID, c.IdempotencyKey, prospectCommand{
		name:     "SetProspectStatus",
		extras:   c.StatusID,
		needTeam: c.StatusID != "",
		decide: func(p *domain.Prospect, team *domain.Team) (domain.Payload, error) {
			if c.StatusID != "" {
				if err := team.RequireStatus(c.StatusID); err != nil {
					return nil, err
				}
			}
			return p.SetStatus(c.StatusID)
		},
	})
}
