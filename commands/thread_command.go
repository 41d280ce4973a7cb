package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// threadCommand is the shape shared by the commands that act on one thread: validate the id,
// load the thread of the actor's team, check the rule, append one event keyed by its prospect.
type threadCommand struct {
	name   string
	rule   func(ctx context.Context, t projections.Thread) error
	event  func(t projections.Thread) domain.Payload
	extras any // more request fields, for the idempotency fingerprint
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
		t, err := b.State.Thread(ctx, a.TeamID, threadID)
		if err := found(err, "thread", threadID); err != nil {
			return Result{}, err
		}
		if c.rule != nil {
			if err := c.rule(ctx, t); err != nil {
				return Result{}, err
			}
		}
		return b.append(ctx, b.newEvent(a, t.ProspectID, idemKey, c.name, 0, c.event(t)))
	})
}
