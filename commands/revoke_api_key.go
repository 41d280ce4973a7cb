package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// RevokeAPIKey revokes a key.
type RevokeAPIKey struct {
	KeyID string
}

// RevokeAPIKeyHandler handles RevokeAPIKey.
type RevokeAPIKeyHandler struct{ base }

// NewRevokeAPIKeyHandler returns the handler.
func NewRevokeAPIKeyHandler(d Deps) RevokeAPIKeyHandler { return RevokeAPIKeyHandler{base{d}} }

// Handle revokes the key; it answers once the read model applied it, so the key is refused by
// every process that reads that read model from then on. A key revoked before is NotFound.
func (h RevokeAPIKeyHandler) Handle(ctx context.Context, a Actor, c RevokeAPIKey) (Result, error) {
	if err := domain.RequireID("key_id", c.KeyID, domain.PrefixKey); err != nil {
		return Result{}, err
	}
	return h.decideOnTeam(ctx, a.TeamID, "", func(t *domain.Team) ([]domain.Event, error) {
		e, err := t.RevokeAPIKey(a.MemberID, domain.Role(a.Role), c.KeyID, domain.RevokedByMember)
		return h.teamEvents1(a, "", "RevokeApiKey", e, err)
	})
}

// RemoveMember removes a member from the team.
type RemoveMember struct {
	MemberID, IdempotencyKey string
}

// RemoveMemberHandler handles RemoveMember.
type RemoveMemberHandler struct{ base }

// NewRemoveMemberHandler returns the handler.
func NewRemoveMemberHandler(d Deps) RemoveMemberHandler { return RemoveMemberHandler{base{d}} }

// ThreadsOf lists the threads assigned to a member (the read model's answer).
type ThreadsOf interface {
	ThreadsAssignedTo(ctx context.Context, teamID, memberID string) ([]ThreadRef, error)
}

// ThreadRef names a thread and its prospect.
type ThreadRef struct{ ThreadID, ProspectID string }

// Handle removes the member and revokes their keys (one event each, on the team's stream), then
// unassigns every thread assigned to them, each by thread.unassigned decided on its prospect's
// stream (a thread assigned to them since, which the read model does not show yet, is found by
// the same query on a retry; no new assignment to them can happen: they are no member).
func (h RemoveMemberHandler) Handle(ctx context.Context, a Actor, c RemoveMember) (Result, error) {
	if err := domain.RequireID("member_id", c.MemberID, domain.PrefixMember); err != nil {
		return Result{}, err
	}
	return idempotent(ctx, h.base, a, "RemoveMember", c.IdempotencyKey, c.MemberID, func() (Result, error) {
		r, err := h.decideOnTeam(ctx, a.TeamID, h.knownEventID(a, "RemoveMember", c.IdempotencyKey), func(t *domain.Team) ([]domain.Event, error) {
			payloads, err := t.RemoveMember(domain.Role(a.Role), c.MemberID)
			if err != nil {
				return nil, err
			}
			events := make([]domain.Event, len(payloads))
			for i, p := range payloads {
				events[i] = h.newEvent(a, a.TeamID, c.IdempotencyKey, "RemoveMember", i, p)
			}
			return events, nil
		})
		if err != nil || h.Assigned == nil {
			return r, err
		}
		threads, err := h.Assigned.ThreadsAssignedTo(ctx, a.TeamID, c.MemberID)
		if err != nil {
			return Result{}, domain.Unavailable("the read model", err)
		}
		for _, th := range threads {
			u, err := h.actOnProspect(ctx, a, th.ProspectID, "", "UnassignThread", false, func(p *domain.Prospect, _ *domain.Team) (domain.Payload, error) {
				cur, err := p.Thread(th.ThreadID)
				if err != nil || cur.Assignee != c.MemberID {
					return nil, errNothingToDo
				}
				return p.Unassign(th.ThreadID)
			})
			if err == errNothingToDo {
				continue
			}
			if err != nil {
				return Result{}, err
			}
			r = u
		}
		return r, nil
	})
}

// ThreadsAssignedTo reads a member's threads from the read model's thread queries.
type ThreadsAssignedTo struct {
	Threads func(ctx context.Context, q projections.ThreadQuery) ([]projections.Thread, error)
}

// ThreadsAssignedTo pages through every view for the member's threads.
func (r ThreadsAssignedTo) ThreadsAssignedTo(ctx context.Context, teamID, memberID string) ([]ThreadRef, error) {
	var out []ThreadRef
	q := projections.ThreadQuery{TeamID: teamID, View: projections.ViewAll, AssigneeMemberID: memberID, Limit: 500}
	for {
		page, err := r.Threads(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			out = append(out, ThreadRef{ThreadID: t.ID, ProspectID: t.ProspectID})
		}
		if len(page) < q.Limit {
			return out, nil
		}
		last := page[len(page)-1]
		q.After = &projections.SortKey{At: last.LastMessageAt, ID: last.ID}
	}
}
