package commands

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
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

// healthOccurrences bounds the deterministic ids tried for one transition; past it (hundreds
// of relink-and-fail cycles with the same reason) a random id keeps the command working.
const healthOccurrences = 64

// Handle appends account.health_changed (keyed by the team) only when the read model shows the
// link in another state, so a poller hitting the same refusal every minute appends nothing.
//
// The event id derives from (link, healthy, reason, occurrence): two processes (or a retry)
// reporting the same transition append it once. The occurrence tells apart the same transition
// happening again after a relink: when the id of occurrence n is already in the log but the
// read model, having applied it, shows the link elsewhere, the link has moved on since and
// this is occurrence n+1.
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
	l, err := h.State.AccountLink(ctx, c.TeamID, c.AccountLinkID)
	if err := found(err, "account link", c.AccountLinkID); err != nil {
		return ReportAccountHealthResult{}, err
	}
	if l.Unlinked || inHealth(l, c.Healthy, reason) {
		return ReportAccountHealthResult{}, nil
	}
	now := h.now()
	for n := 0; n <= healthOccurrences; n++ {
		id := domain.DeriveID(domain.PrefixEvent, l.ID, domain.TypeAccountHealthChanged, strconv.FormatBool(c.Healthy), reason, strconv.Itoa(n))
		if n == healthOccurrences {
			id = domain.NewID(domain.PrefixEvent)
		}
		e := domain.Event{ID: id, TeamID: l.TeamID, Key: l.TeamID, OccurredAt: now, RecordedAt: now,
			Actor: domain.ActorSystem, Origin: origin,
			Payload: domain.AccountHealthChanged{AccountLinkID: l.ID, Healthy: c.Healthy, Reason: reason}}
		res, err := h.Log.Append(ctx, []domain.Event{e})
		if err != nil {
			if domain.KindOf(err) != domain.KindInternal {
				return ReportAccountHealthResult{}, err
			}
			return ReportAccountHealthResult{}, domain.Unavailable("the event log", err)
		}
		cur := eventlog.Cursor{}
		cur.Advance(res[0].Position)
		if !res[0].Duplicate {
			h.wait(ctx, cur)
			return ReportAccountHealthResult{Result: Result{Position: res[0].Position.String()}, Changed: true}, nil
		}
		// Occurrence n is in the log: once the read model has applied it, either the link shows
		// the reported state (someone reported this very transition first) or it has moved on.
		if err := h.waitApplied(ctx, cur); err != nil {
			return ReportAccountHealthResult{}, err
		}
		l, err = h.State.AccountLink(ctx, c.TeamID, c.AccountLinkID)
		if err := found(err, "account link", c.AccountLinkID); err != nil {
			return ReportAccountHealthResult{}, err
		}
		if l.Unlinked || inHealth(l, c.Healthy, reason) {
			return ReportAccountHealthResult{Result: Result{Position: res[0].Position.String(), Duplicate: true}}, nil
		}
	}
	return ReportAccountHealthResult{}, errors.New("report account health: no event id left") // unreachable: the last id is random
}

func inHealth(l projections.AccountLink, healthy bool, reason string) bool {
	if healthy {
		return l.Healthy
	}
	return !l.Healthy && l.HealthReason == reason
}

// waitApplied waits (bounded) until the read model covers cur. Unlike append's wait, giving up
// is an error: the decision that follows needs the applied state.
func (h ReportAccountHealthHandler) waitApplied(ctx context.Context, cur eventlog.Cursor) error {
	if h.Consistency == nil {
		return nil
	}
	timeout := h.ConsistencyTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := h.Consistency.WaitFor(wctx, cur); err != nil {
		return domain.Unavailable("the read model", err)
	}
	return nil
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
