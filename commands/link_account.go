package commands

import (
	"context"

	"github.com/switchboard-oss/switchboard/domain"
)

// LinkAccount links one of the team's platform accounts, or updates a linked one.
type LinkAccount struct {
	Platform                          domain.Platform
	PlatformID, Username, DisplayName string
	Credentials                       map[string]string
	IdempotencyKey                    string
}

// AccountLinkResult is the link.
type AccountLinkResult struct {
	Result
	AccountLinkID, WebhookPath string
}

// LinkAccountHandler handles LinkAccount.
type LinkAccountHandler struct{ base }

// NewLinkAccountHandler returns the handler.
func NewLinkAccountHandler(d Deps) LinkAccountHandler { return LinkAccountHandler{base{d}} }

// Handle stores the credentials (encrypted, outside the log) and appends account.linked. The
// link's id derives from the account, so relinking it keeps its threads.
func (h LinkAccountHandler) Handle(ctx context.Context, a Actor, c LinkAccount) (AccountLinkResult, error) {
	if c.Platform.IsZero() {
		return AccountLinkResult{}, domain.Invalid("platform", "is required")
	}
	if c.PlatformID == "" {
		return AccountLinkResult{}, domain.Invalid("platform_id", "is required")
	}
	for _, f := range []struct{ name, v string }{{"platform_id", c.PlatformID}, {"username", c.Username}, {"display_name", c.DisplayName}} {
		if err := domain.MaxLen(f.name, f.v, 256); err != nil {
			return AccountLinkResult{}, err
		}
	}
	if len(c.Credentials) > 20 {
		return AccountLinkResult{}, domain.Invalid("credentials", "must have at most 20 entries")
	}
	for k, v := range c.Credentials {
		if k == "" || len(k) > 64 || len(v) > 4096 {
			return AccountLinkResult{}, domain.Invalid("credentials", "keys must be 1-64 characters and values at most 4096")
		}
	}
	id := domain.AccountLinkID(a.TeamID, c.Platform, c.PlatformID)
	path := "/webhooks/" + c.Platform.String() + "/" + id
	// The fingerprint must not hold the credentials: it is a hash, but of a secret.
	req := []string{c.Platform.String(), c.PlatformID, c.Username, c.DisplayName}
	return idempotent(ctx, h.base, a, "LinkAccount", c.IdempotencyKey, req, func() (AccountLinkResult, error) {
		if len(c.Credentials) > 0 {
			// The rule first: a refused relink must not have replaced the credentials.
			t, err := h.teamNow(ctx, a.TeamID)
			if err != nil {
				return AccountLinkResult{}, err
			}
			if _, err := t.LinkAccount(domain.Role(a.Role), domain.AccountLinked{AccountLinkID: id}); err != nil {
				return AccountLinkResult{}, err
			}
			if err := h.Credentials.Put(ctx, a.TeamID, id, c.Credentials); err != nil {
				return AccountLinkResult{}, domain.Unavailable("the credential store", err)
			}
		}
		r, err := h.decideOnTeam(ctx, a.TeamID, h.knownEventID(a, "LinkAccount", c.IdempotencyKey), func(t *domain.Team) ([]domain.Event, error) {
			e, err := t.LinkAccount(domain.Role(a.Role), domain.AccountLinked{AccountLinkID: id, Platform: c.Platform, PlatformID: c.PlatformID,
				Username: c.Username, DisplayName: c.DisplayName, WebhookPath: path})
			return h.teamEvents1(a, c.IdempotencyKey, "LinkAccount", e, err)
		})
		return AccountLinkResult{Result: r, AccountLinkID: id, WebhookPath: path}, err
	})
}

// UnlinkAccount unlinks an account; its threads stay.
type UnlinkAccount struct {
	AccountLinkID, IdempotencyKey string
}

// UnlinkAccountHandler handles UnlinkAccount.
type UnlinkAccountHandler struct{ base }

// NewUnlinkAccountHandler returns the handler.
func NewUnlinkAccountHandler(d Deps) UnlinkAccountHandler { return UnlinkAccountHandler{base{d}} }

// Handle unlinks; an unlinked account breaks the rule.
func (h UnlinkAccountHandler) Handle(ctx context.Context, a Actor, c UnlinkAccount) (Result, error) {
	if err := domain.RequireID("account_link_id", c.AccountLinkID, domain.PrefixAccount); err != nil {
		return Result{}, err
	}
	return idempotent(ctx, h.base, a, "UnlinkAccount", c.IdempotencyKey, c.AccountLinkID, func() (Result, error) {
		return h.decideOnTeam(ctx, a.TeamID, h.knownEventID(a, "UnlinkAccount", c.IdempotencyKey), func(t *domain.Team) ([]domain.Event, error) {
			e, err := t.UnlinkAccount(c.AccountLinkID)
			return h.teamEvents1(a, c.IdempotencyKey, "UnlinkAccount", e, err)
		})
	})
}

// activeLink returns an account link that may receive messages, as the Team aggregate knows it
// (so a message right after an unlink is refused, whatever the read model shows yet).
func (b base) activeLink(ctx context.Context, teamID, id string) (domain.AccountLink, error) {
	t, err := b.team(ctx, teamID)
	if err != nil {
		return domain.AccountLink{}, err
	}
	l, err := t.ActiveLink(id)
	if err != nil { // perhaps linked (or relinked) through another process just now
		if t, err = b.teamNow(ctx, teamID); err != nil {
			return domain.AccountLink{}, err
		}
		return t.ActiveLink(id)
	}
	return l, nil
}
