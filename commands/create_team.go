package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// CreateTeam creates a tenant with an owner and the owner's key. Instance admin only.
type CreateTeam struct {
	Name, OwnerEmail, OwnerName string
}

// TeamResult is the new team, its owner and the owner's key (shown once).
type TeamResult struct {
	Result
	TeamID, OwnerMemberID, OwnerKey string
}

// CreateTeamHandler handles CreateTeam.
type CreateTeamHandler struct{ base }

// NewCreateTeamHandler returns the handler.
func NewCreateTeamHandler(d Deps) CreateTeamHandler { return CreateTeamHandler{base{d}} }

// Handle creates the team.
func (h CreateTeamHandler) Handle(ctx context.Context, a Actor, c CreateTeam) (TeamResult, error) {
	if !a.InstanceAdmin {
		return TeamResult{}, domain.PermissionDenied("only the instance admin key creates teams")
	}
	name, err := domain.Name("name", c.Name, 100)
	if err != nil {
		return TeamResult{}, err
	}
	teamID := domain.NewID(domain.PrefixTeam)
	email := c.OwnerEmail
	if email == "" {
		email = "owner@" + teamID + ".invalid"
	}
	if email, err = domain.Email("owner_email", email); err != nil {
		return TeamResult{}, err
	}
	if err := domain.MaxLen("owner_name", c.OwnerName, 200); err != nil {
		return TeamResult{}, err
	}
	key := NewAPIKey()
	memberID := ""
	res, err := h.model().teams.update(ctx, teamID, teamID, "", func(t *domain.Team) ([]domain.Event, error) {
		var events []domain.Event
		var err error
		events, memberID, err = h.teamEvents(a, t, name, email, c.OwnerName, key, false, "")
		return events, err
	})
	if err != nil {
		return TeamResult{}, err
	}
	return TeamResult{Result: h.answer(ctx, res, true), TeamID: teamID, OwnerMemberID: memberID, OwnerKey: key}, nil
}

// teamEvents are the events of a new team: the team, its owner, the owner's key. With a seed,
// every id derives from it, so repeating the same creation appends nothing new.
func (b base) teamEvents(a Actor, t *domain.Team, name, email, ownerName, key string, instanceAdmin bool, seed string) ([]domain.Event, string, error) {
	teamID := t.ID()
	id := func(prefix string) string {
		if seed != "" {
			return domain.DeriveID(prefix, seed, prefix)
		}
		return domain.NewID(prefix)
	}
	memberID, keyID := id(domain.PrefixMember), id(domain.PrefixKey)
	team := Actor{TeamID: teamID, MemberID: a.MemberID}
	payloads, err := t.Create(name, domain.TeamMember{ID: memberID, Email: email}, ownerName, keyID, b.Keys.Hash(key), KeyPrefix(key), instanceAdmin)
	if err != nil {
		return nil, "", err
	}
	events := make([]domain.Event, len(payloads))
	for i, p := range payloads {
		events[i] = b.newEvent(team, teamID, seed, "CreateTeam", i, p)
		if seed == "" {
			events[i].ID = domain.NewID(domain.PrefixEvent)
		}
		if a.MemberID == "" {
			events[i].Origin = domain.OriginSystem
		}
	}
	return events, memberID, nil
}

// Bootstrap creates the first team, owner and instance admin key, when there is no key at all.
type Bootstrap struct {
	// Key is the instance admin key to record (SWITCHBOARD_BOOTSTRAP_KEY, or one the caller
	// generated and saved before calling, so a crash cannot lose it).
	Key string
}

// BootstrapResult says what happened.
type BootstrapResult struct {
	Created         bool
	TeamID, OwnerID string
	// Rotated: the instance admin key was another; it is revoked and Key replaces it.
	Rotated bool
}

// BootstrapHandler handles Bootstrap.
type BootstrapHandler struct{ base }

// NewBootstrapHandler returns the handler.
func NewBootstrapHandler(d Deps) BootstrapHandler { return BootstrapHandler{base{d}} }

// DefaultTeamID is the id of the team that the first start creates.
var DefaultTeamID = domain.DeriveID(domain.PrefixTeam, "bootstrap", "default")

// Handle creates team "default" unless a key exists. Its ids derive from a fixed seed, so a
// bootstrap interrupted and repeated appends nothing twice.
func (h BootstrapHandler) Handle(ctx context.Context, c Bootstrap) (BootstrapResult, error) {
	if len(c.Key) < 16 {
		return BootstrapResult{}, domain.Invalid("SWITCHBOARD_BOOTSTRAP_KEY", "must be at least 16 characters")
	}
	n, err := h.State.CountAPIKeys(ctx)
	if err != nil {
		return BootstrapResult{}, domain.Unavailable("the read model", err)
	}
	if n > 0 {
		return h.rotate(ctx, c.Key)
	}
	owner := ""
	res, err := h.model().teams.update(ctx, DefaultTeamID, DefaultTeamID, "", func(t *domain.Team) ([]domain.Event, error) {
		if t.Exists() {
			// Bootstrapped before, but the read model holds no key yet (a crash before it caught
			// up): the same events, whose derived ids the log answers as duplicates.
			t = domain.NewTeam(DefaultTeamID)
		}
		var events []domain.Event
		var err error
		events, owner, err = h.teamEvents(Actor{}, t, "default", "owner@default.invalid", "Owner", c.Key, true, "bootstrap")
		return events, err
	})
	if err != nil || len(res) == 0 {
		return BootstrapResult{}, err
	}
	h.answer(ctx, res, true)
	return BootstrapResult{Created: true, TeamID: DefaultTeamID, OwnerID: owner}, nil
}

// rotate makes key the instance admin key when the team default has another one (the operator
// changed SWITCHBOARD_BOOTSTRAP_KEY): the old key is revoked by an event, the new one recorded.
func (h BootstrapHandler) rotate(ctx context.Context, key string) (BootstrapResult, error) {
	t, err := h.teamNow(ctx, DefaultTeamID)
	if err != nil || !t.Exists() {
		return BootstrapResult{}, err
	}
	keyID := domain.NewID(domain.PrefixKey)
	res, err := h.model().teams.update(ctx, DefaultTeamID, DefaultTeamID, "", func(t *domain.Team) ([]domain.Event, error) {
		payloads, err := t.RotateInstanceAdmin(keyID, h.Keys.Candidates(key), KeyPrefix(key))
		if err != nil {
			return nil, err
		}
		events := make([]domain.Event, len(payloads))
		for i, p := range payloads {
			events[i] = h.newEvent(Actor{TeamID: DefaultTeamID}, DefaultTeamID, "", "RotateBootstrapKey", i, p)
			events[i].Origin = domain.OriginSystem
		}
		return events, nil
	})
	if err != nil || len(res) == 0 {
		return BootstrapResult{}, err
	}
	h.answer(ctx, res, true)
	return BootstrapResult{TeamID: DefaultTeamID, Rotated: true}, nil
}
