package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// prospectCommand is the shape shared by the commands that act on one prospect.
type prospectCommand struct {
	name     string
	needTeam bool
	// decide runs on a prospect that exists (an unknown one is NotFound before it).
	decide func(p *domain.Prospect, team *domain.Team) (domain.Payload, error)
	extras any
}

func (b base) runProspectCommand(ctx context.Context, a Actor, prospectID, idemKey string, c prospectCommand) (Result, error) {
	if err := domain.RequireID("prospect_id", prospectID, domain.PrefixProspect); err != nil {
		return Result{}, err
	}
	req := struct {
		ProspectID string
		Extras     any
	}{prospectID, c.extras}
	return idempotent(ctx, b, a, c.name, idemKey, req, func() (Result, error) {
		return b.actOnProspect(ctx, a, prospectID, idemKey, c.name, c.needTeam, func(p *domain.Prospect, team *domain.Team) (domain.Payload, error) {
			if !p.Exists() {
				return nil, domain.NotFound("prospect", prospectID)
			}
			return c.decide(p, team)
		})
	})
}
