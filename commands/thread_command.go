package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// threadCommand is the shape shared by the commands that act on one thread: validate the id,
// find the thread's prospect (its stream), let the Prospect aggregate (and, when the command
// names team configuration, the Team aggregate) decide, append one event keyed by the prospect.
type threadCommand struct {
	name     string
	needTeam bool
	decide   func(p *domain.Prospect, team *domain.Team) (domain.Payload, error)
	extras   any // more request fields, for the idempotency fingerprint
}

func (b base) runThreadCommand(ctx context.Context, a Actor, threadID, idemKey string, c threadCommand) (Result, error) {
	if err := domain.RequireID("thread_id", threadID, domain.PrefixThread); err != nil {
		return Result{}, err
	}
	req := struct {
		ThreadID string
		Extras   any
	}{threadID, c.extras}
	return idempotent(ctx, b, a, c.name, idemKey, req, func() (Result, error) {
		prospectID, err := b.prospectOf(ctx, a.TeamID, threadID)
		if err != nil {
			return Result{}, err
		}
		return b.actOnProspect(ctx, a, prospectID, idemKey, c.name, c.needTeam, c.decide)
	})
}

// actOnProspect runs a team member's decision on a prospect's aggregate.
func (b base) actOnProspect(ctx context.Context, a Actor, prospectID, idemKey, name string, needTeam bool,
	decide func(p *domain.Prospect, team *domain.Team) (domain.Payload, error)) (Result, error) {
	var team *domain.Team
	if needTeam {
		var err error
		if team, err = b.team(ctx, a.TeamID); err != nil {
			return Result{}, err
		}
	}
	return b.decideOnProspect(ctx, a.TeamID, prospectID, b.knownEventID(a, name, idemKey), func(p *domain.Prospect) ([]domain.Event, error) {
		payload, err := decide(p, team)
		if err != nil {
			return nil, err
		}
		return []domain.Event{b.newEvent(a, prospectID, idemKey, name, 0, payload)}, nil
	})
}
