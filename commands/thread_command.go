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

// actOnProspect runs a team member's decision on a prospect's aggregate. A decision that also
// reads the team's configuration (a tag, a member) gets it as this process knows it; when the
// decision fails, it is made again on the team's whole stream before the failure is answered.
func (b base) actOnProspect(ctx context.Context, a Actor, prospectID, idemKey, name string, needTeam bool,
	decide func(p *domain.Prospect, team *domain.Team) (domain.Payload, error)) (Result, error) {
	run := func(team *domain.Team) (Result, error) {
		return b.decideOnProspect(ctx, a.TeamID, prospectID, b.knownEventID(a, name, idemKey), func(p *domain.Prospect) ([]domain.Event, error) {
			payload, err := decide(p, team)
			if err != nil {
				return nil, err
			}
			return []domain.Event{b.newEvent(a, prospectID, idemKey, name, 0, payload)}, nil
		})
	}
	if !needTeam {
		return run(nil)
	}
	team, err := b.team(ctx, a.TeamID)
	if err != nil {
		return Result{}, err
	}
	r, err := run(team)
	if k := domain.KindOf(err); k == domain.KindNotFound || k == domain.KindPrecondition {
		if team, err2 := b.teamNow(ctx, a.TeamID); err2 == nil {
			return run(team)
		}
	}
	return r, err
}
