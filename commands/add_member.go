package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// AddMember adds a person to the team.
type AddMember struct {
	Email, Name, Role, IdempotencyKey string
}

// MemberResult is the added member.
type MemberResult struct {
	Result
	MemberID, Email, Name, Role string
}

// AddMemberHandler handles AddMember.
type AddMemberHandler struct{ base }

// NewAddMemberHandler returns the handler.
func NewAddMemberHandler(d Deps) AddMemberHandler { return AddMemberHandler{base{d}} }

// Handle adds the member. Only owners and admins add members, and only owners add owners.
func (h AddMemberHandler) Handle(ctx context.Context, a Actor, c AddMember) (MemberResult, error) {
	email, err := domain.Email("email", c.Email)
	if err != nil {
		return MemberResult{}, err
	}
	if err := domain.MaxLen("name", c.Name, 200); err != nil {
		return MemberResult{}, err
	}
	role, err := domain.ParseRole("role", c.Role)
	if err != nil {
		return MemberResult{}, err
	}
	return idempotent(ctx, h.base, a, "AddMember", c.IdempotencyKey, []string{email, c.Name, string(role)}, func() (MemberResult, error) {
		id := h.newEntityID(a, domain.PrefixMember, "AddMember", c.IdempotencyKey)
		r, err := h.decideOnTeam(ctx, a.TeamID, h.knownEventID(a, "AddMember", c.IdempotencyKey), func(t *domain.Team) ([]domain.Event, error) {
			e, err := t.AddMember(domain.Role(a.Role), id, email, c.Name, role)
			return h.teamEvents1(a, c.IdempotencyKey, "AddMember", e, err)
		})
		return MemberResult{Result: r, MemberID: id, Email: email, Name: c.Name, Role: string(role)}, err
	})
}
