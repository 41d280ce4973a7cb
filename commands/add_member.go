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
	if a.Role != string(domain.RoleOwner) && a.Role != string(domain.RoleAdmin) {
		return MemberResult{}, domain.PermissionDenied("only owners and admins add members")
	}
	if role == domain.RoleOwner && a.Role != string(domain.RoleOwner) {
		return MemberResult{}, domain.PermissionDenied("only owners add owners")
	}
	return idempotent(ctx, h.base, a, "AddMember", c.IdempotencyKey, []string{email, c.Name, string(role)}, func() (MemberResult, error) {
		members, err := h.State.Members(ctx, a.TeamID)
		if err != nil {
			return MemberResult{}, domain.Unavailable("the read model", err)
		}
		for _, m := range members {
			if m.Email == email {
				return MemberResult{}, domain.AlreadyExists("a member with email %q already exists", email)
			}
		}
		id := h.newEntityID(a, domain.PrefixMember, "AddMember", c.IdempotencyKey)
		r, err := h.append(ctx, h.newEvent(a, a.TeamID, c.IdempotencyKey, "AddMember", 0,
			domain.MemberAdded{MemberID: id, Email: email, Name: c.Name, Role: string(role)}))
		return MemberResult{Result: r, MemberID: id, Email: email, Name: c.Name, Role: string(role)}, err
	})
}
