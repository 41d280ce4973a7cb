package commands

import (
	"context"
	"strings"
	"unicode"

	"github.com/switchboard-oss/switchboard/domain"
)

// ReportAccountHealth records what an ingest component learned about an account link's
// credentials: refused (Healthy false, with a Reason shown to the team) or working again.
type ReportAccountHealth struct {
	TeamID, AccountLinkID string
	Healthy               bool
	// Reason says why the link is unhealthy. It is shown to the team and replayed by analysts:
	// it must never hold a token (control characters and token-like words are removed anyway).
	Reason string
	Origin domain.Origin // poll, webhook…; system when empty
}

// ReportAccountHealthResult says whether the report changed the link.
type ReportAccountHealthResult struct {
	Result
	// Changed is false when the link already was in the reported state (nothing appended).
	Changed bool
}

// ReportAccountHealthHandler handles ReportAccountHealth.
type ReportAccountHealthHandler struct{ base }

// NewReportAccountHealthHandler returns the handler.
func NewReportAccountHealthHandler(d Deps) ReportAccountHealthHandler {
	return ReportAccountHealthHandler{base{d}}
}

// MaxHealthReason bounds a health reason, in characters.
const MaxHealthReason = 200

// Handle appends account.health_changed (keyed by the team) only when the Team aggregate shows
// the link in another state, so a poller hitting the same refusal every minute appends nothing,
// and two processes reporting the same transition at once append it once (the second finds the
// team's stream moved on, catches up, and sees nothing left to change).
func (h ReportAccountHealthHandler) Handle(ctx context.Context, c ReportAccountHealth) (ReportAccountHealthResult, error) {
	if c.TeamID == "" {
		return ReportAccountHealthResult{}, domain.Invalid("team_id", "is required")
	}
	if err := domain.RequireID("account_link_id", c.AccountLinkID, domain.PrefixAccount); err != nil {
		return ReportAccountHealthResult{}, err
	}
	reason := ""
	if !c.Healthy {
		if reason = SafeHealthReason(c.Reason); reason == "" {
			reason = "the platform refused the credentials"
		}
	}
	origin := c.Origin
	if origin == "" {
		origin = domain.OriginSystem
	}
	changed := false
	res, err := h.model().teams.update(ctx, c.TeamID, c.TeamID, "", func(t *domain.Team) ([]domain.Event, error) {
		p, ok, err := t.ReportHealth(c.AccountLinkID, c.Healthy, reason)
		changed = ok
		if err != nil || !ok {
			return nil, err
		}
		now := h.now()
		return []domain.Event{{ID: domain.NewID(domain.PrefixEvent), TeamID: c.TeamID, Key: c.TeamID, OccurredAt: now,
			RecordedAt: now, Actor: domain.ActorSystem, Origin: origin, Payload: p}}, nil
	})
	if err != nil || !changed {
		return ReportAccountHealthResult{}, err
	}
	return ReportAccountHealthResult{Result: h.answer(ctx, res, true), Changed: true}, nil
}

// SafeHealthReason makes a reason fit to show and to keep forever: one line of printable
// text, token-like words (long runs of letters, digits and -_.=+/ such as a JWT or an API key)
// replaced by "[redacted]", at most MaxHealthReason characters.
func SafeHealthReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	words := strings.Fields(s)
	for i, w := range words {
		if looksLikeToken(w) {
			words[i] = "[redacted]"
		}
	}
	s = strings.Join(words, " ")
	if r := []rune(s); len(r) > MaxHealthReason {
		s = string(r[:MaxHealthReason-1]) + "…"
	}
	return s
}

// looksLikeToken reports a word of 32 or more token characters with both letters and digits:
// access tokens, JWTs, app secrets. Words, DIDs and URLs of prose rarely qualify.
func looksLikeToken(w string) bool {
	run, letters, digits := 0, false, false
	for _, r := range w {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters = true
		case r >= '0' && r <= '9':
			digits = true
		case strings.ContainsRune("-_.=+/", r):
		default:
			if run >= 32 && letters && digits {
				return true
			}
			run, letters, digits = 0, false, false
			continue
		}
		run++
	}
	return run >= 32 && letters && digits
}
