package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// prospectCommand is the shape shared by the commands that act on one prospect.
type prospectCommand struct {
	name   string
	rule   func(ctx context.Context, p projections.Prospect) error
	event  func(p projections.Prospect) domain.Payload
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
		p, err := b.State.Prospect(ctx, a.TeamID, prospectID)
		if err := found(err, "prospect", prospectID); err != nil {
			return Result{}, err
		}
		if c.rule != nil {
			if err := c.rule(ctx, p); err != nil {
				return Result{}, err
			}
		}
		return b.append(ctx, b.newEvent(a, p.ID, idemKey, c.name, 0, c.event(p)))
	})
}

func hasTag(p projections.Prospect, tagID string) bool {
	for _, t := range p.Tags {
		if t.ID == tagID {
			return true
		}
	}
	return false
}
