package connect

import (
	"context"
	"hash/fnv"
	"log/slog"
	"maps"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// Leases serialize refreshes across every process of a deployment: a rotating refresh token
// works once, so two processes refreshing the same link would break it.
type Leases interface {
	ClaimTokenRefresh(ctx context.Context, accountLinkID, holder string, until, now time.Time) (bool, error)
}

// ActiveLinks lists the links to keep fresh.
type ActiveLinks interface {
	ActiveAccountLinks(ctx context.Context, platforms []string) ([]projections.AccountLink, error)
}

// RefresherDeps are what the token refresher needs.
type RefresherDeps struct {
	Links       ActiveLinks
	Credentials Credentials
	Leases      Leases
	App         commands.App
	Logger      *slog.Logger
	Now         func() time.Time
	// Interval is how often the links are checked (default 1 minute).
	Interval time.Duration
	// Holder names this process in the leases (default: a random id).
	Holder string
}

// leaseTime is how long a claimed refresh holds off other processes: longer than a refresh
// takes, short enough that a process that died mid-refresh does not block the link for long.
const leaseTime = 2 * time.Minute

// TokenRefresher renews tokens before they expire, records account.token_refreshed (or the
// link unhealthy when the platform refuses), at most once per deployment per token.
type TokenRefresher struct {
	d        RefresherDeps
	byName   map[string]Refresher
	limiters map[string]*rate.Limiter
}

// NewTokenRefresher returns the refresher of the given platforms.
func NewTokenRefresher(d RefresherDeps, refreshers ...Refresher) *TokenRefresher {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Interval <= 0 {
		d.Interval = time.Minute
	}
	if d.Holder == "" {
		d.Holder = domain.NewID("")
	}
	r := &TokenRefresher{d: d, byName: map[string]Refresher{}, limiters: map[string]*rate.Limiter{}}
	for _, x := range refreshers {
		name := x.Platform().String()
		r.byName[name] = x
		// Token endpoints are shared by every link of a platform: a few renewals a second at
		// most, so a deployment that comes back after a long stop does not hammer them.
		r.limiters[name] = rate.NewLimiter(rate.Every(200*time.Millisecond), 5)
	}
	return r
}

// Run checks every Interval until ctx ends.
func (r *TokenRefresher) Run(ctx context.Context) error {
	if len(r.byName) == 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(r.d.Interval)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.d.Logger.Warn("token refresher: listing links failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce renews every token due now; it returns how many this process renewed.
func (r *TokenRefresher) RunOnce(ctx context.Context) (int, error) {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	links, err := r.d.Links.ActiveAccountLinks(ctx, names)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range links {
		if ctx.Err() != nil {
			break
		}
		if r.one(ctx, l) {
			n++
		}
	}
	return n, nil
}

// due is when a token expiring at exp is renewed: Before ahead, less a jitter of up to a
// quarter of Before that depends on the link only (every process agrees, links spread out).
func due(x Refresher, linkID string, exp time.Time) time.Time {
	h := fnv.New64a()
	_, _ = h.Write([]byte(linkID))
	jitter := time.Duration(h.Sum64() % uint64(max(x.Before()/4, time.Second)))
	return exp.Add(-x.Before() - jitter)
}

func (r *TokenRefresher) one(ctx context.Context, l projections.AccountLink) bool {
	x := r.byName[l.Platform]
	creds, err := r.d.Credentials.Get(ctx, l.TeamID, l.ID)
	if err != nil {
		return false
	}
	exp := ExpiresAt(creds)
	if exp.IsZero() || r.d.Now().Before(due(x, l.ID, exp)) {
		return false
	}
	if err := r.limiters[l.Platform].Wait(ctx); err != nil {
		return false
	}
	now := r.d.Now()
	claimed, err := r.d.Leases.ClaimTokenRefresh(ctx, l.ID, r.d.Holder, now.Add(leaseTime), now)
	if err != nil || !claimed {
		return false
	}
	// Read again under the lease: another process may have renewed it a moment ago.
	if creds, err = r.d.Credentials.Get(ctx, l.TeamID, l.ID); err != nil {
		return false
	}
	if exp = ExpiresAt(creds); exp.IsZero() || r.d.Now().Before(due(x, l.ID, exp)) {
		return false
	}
	link := platforms.Link{ID: l.ID, TeamID: l.TeamID, PlatformID: l.PlatformID}
	more, until, err := x.Refresh(ctx, link, creds)
	if err != nil {
		if ref, ok := IsRefused(err); ok {
			r.d.Logger.Warn("token refresher: the platform refused to renew the token", "platform", l.Platform, "account_link_id", l.ID, "reason", ref.Reason)
			if _, herr := r.d.App.ReportAccountHealth.Handle(ctx, commands.ReportAccountHealth{TeamID: l.TeamID, AccountLinkID: l.ID,
				Reason: "reconnect needed: " + ref.Reason}); herr != nil {
				r.d.Logger.Warn("token refresher: recording the link unhealthy failed", "account_link_id", l.ID, "err", herr)
			}
			return false
		}
		r.d.Logger.Warn("token refresher: renewal failed; retrying later", "platform", l.Platform, "account_link_id", l.ID, "err", err)
		return false
	}
	next := maps.Clone(creds)
	maps.Copy(next, more)
	if until.IsZero() {
		delete(next, CredExpiresAt)
	} else {
		next[CredExpiresAt] = until.UTC().Format(time.RFC3339)
	}
	if err := r.d.Credentials.Put(ctx, l.TeamID, l.ID, next); err != nil {
		// The platform may have rotated the refresh token already: nothing better to do than
		// say so; the next run tries again with what is stored.
		r.d.Logger.Error("token refresher: storing the renewed token failed", "account_link_id", l.ID, "err", err)
		return false
	}
	if _, err := r.d.App.RecordTokenRefresh.Handle(ctx, commands.RecordTokenRefresh{TeamID: l.TeamID, AccountLinkID: l.ID, ExpiresAt: until}); err != nil {
		r.d.Logger.Warn("token refresher: recording the renewal failed", "account_link_id", l.ID, "err", err)
	}
	r.d.Logger.Info("token refresher: token renewed", "platform", l.Platform, "account_link_id", l.ID, "expires_at", until)
	return true
}
