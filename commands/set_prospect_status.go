package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
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

// Handle sets the status; it must be one of the team's.
func (h SetProspectStatusHandler) Handle(ctx context.Context, a Actor, c SetProspectStatus) (Result, error) {
	if c.ProspectID != "" {
		if err := domain.CheckID("status_id", c.StatusID, domain.PrefixStatus); err != nil {
			return Result{}, err
		}
	}
	return h.runProspectCommand(ctx, a, c.ProspectID, c.IdempotencyKey, prospectCommand{
		name:   "SetProspectStatus",
		extras: c.StatusID,
		rule: func(ctx context.Context, _ projections.Prospect) error {
			if c.StatusID == "" {
				return nil
			}
			_, err := h.State.Status(ctx, a.TeamID, c.StatusID)
			return found(err, "status", c.StatusID)
		},
		event: func(p projections.Prospect) domain.Payload {
			return domain.ProspectStatusChanged{ProspectID: p.ID, StatusID: c.StatusID}
		},
	})
}
