package commands

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// RecordTokenRefresh records that the token refresher renewed a link's access token: when (the
// event's time) and until when. Never the token: the new credentials are stored encrypted
// before this is recorded.
type RecordTokenRefresh struct {
	TeamID, AccountLinkID string
	ExpiresAt             time.Time // zero: the new token does not expire
}

// RecordTokenRefreshHandler handles RecordTokenRefresh.
type RecordTokenRefreshHandler struct{ base }

// NewRecordTokenRefreshHandler returns the handler.
func NewRecordTokenRefreshHandler(d Deps) RecordTokenRefreshHandler {
	return RecordTokenRefreshHandler{base{d}}
}

// Handle appends account.token_refreshed.v1 to the team's stream.
func (h RecordTokenRefreshHandler) Handle(ctx context.Context, c RecordTokenRefresh) (Result, error) {
	if c.TeamID == "" {
		return Result{}, domain.Invalid("team_id", "is required")
	}
	if err := domain.RequireID("account_link_id", c.AccountLinkID, domain.PrefixAccount); err != nil {
		return Result{}, err
	}
	res, err := h.model().teams.update(ctx, c.TeamID, c.TeamID, "", func(t *domain.Team) ([]domain.Event, error) {
		p, err := t.RecordTokenRefresh(c.AccountLinkID, c.ExpiresAt)
		if err != nil {
			return nil, err
		}
		now := h.now()
		return []domain.Event{{ID: domain.NewID(domain.PrefixEvent), TeamID: c.TeamID, Key: c.TeamID, OccurredAt: now,
			RecordedAt: now, Actor: domain.ActorSystem, Origin: domain.OriginSystem, Payload: p}}, nil
	})
	if err != nil {
		return Result{}, err
	}
	return h.answer(ctx, res, false), nil
}
