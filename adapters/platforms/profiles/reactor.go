package profiles

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

// Group is FetchProfileOnMessageReceived's name and consumer group. Frozen: renaming it makes
// the reaction start over from the beginning of the log.
const Group = "profiles.v1"

// Consumer is the part of the event log the reaction reads.
type Consumer interface {
	ConsumeTypes(ctx context.Context, group string, types []string, h eventlog.Handler) error
}

// Reader is the part of the read model the reaction checks.
type Reader interface {
	AccountLinkByID(ctx context.Context, id string) (projections.AccountLink, error)
	Prospect(ctx context.Context, teamID, id string) (projections.Prospect, error)
}

// Deps are what the reaction needs.
type Deps struct {
	Log         Consumer
	Reader      Reader
	Credentials platforms.Credentials
	Receiver    platforms.Receiver
	Logger      *slog.Logger
	Registry    *prometheus.Registry // optional
}

// Options tune the reaction; zero values take the defaults.
type Options struct {
	// TTL is how long a fetched profile is not fetched again (default 24h).
	TTL time.Duration
	// FailureTTL is how long a failed fetch is not retried (default 1m): the prospect's next
	// message after it tries again, without hammering the platform for a chatty prospect.
	FailureTTL time.Duration
	// FetchTimeout bounds one fetch, so a slow platform cannot stall the reaction (default 10s).
	FetchTimeout time.Duration
	// AuthBackoff is how long a link whose credentials were refused is left alone (default 10m).
	AuthBackoff time.Duration
	// CacheSize bounds the prospects remembered (default 100000).
	CacheSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.TTL <= 0 {
		o.TTL = 24 * time.Hour
	}
	if o.FailureTTL <= 0 {
		o.FailureTTL = time.Minute
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 10 * time.Second
	}
	if o.AuthBackoff <= 0 {
		o.AuthBackoff = 10 * time.Minute
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Results counted by switchboard_profile_fetches_total.
const (
	ResultUpdated     = "updated"      // fetched and recorded
	ResultEmpty       = "empty"        // fetched, but the platform shows no name nor avatar
	ResultCached      = "cached"       // fetched (or tried) within the TTL: skipped
	ResultNamed       = "named"        // the read model already has a name: skipped
	ResultPaused      = "paused"       // the link is rate-limited or its credentials refused: skipped
	ResultRateLimited = "rate_limited" // the platform rate-limited the fetch
	ResultAuthRefused = "auth_refused" // the platform refused the link's credentials
	ResultFailed      = "failed"       // anything else: retried on a later message
)

// FetchProfileOnMessageReceived fills in the profile of a prospect whose platform sends only
// an id: on an inbound message (webhook or poll) whose prospect has no name, neither in the
// message nor in the read model, it fetches the profile and records it through the Receiver as
// a platform profile, so the same profile always derives the same prospect.profile_updated id.
// A failure is logged and counted, never retried in place: the consumer moves on, and the
// prospect's next message tries again.
type FetchProfileOnMessageReceived struct {
	d        Deps
	o        Options
	fetchers map[string]Fetcher
	limiters map[string]*rate.Limiter
	cache    *ttlCache
	results  *prometheus.CounterVec

	mu     sync.Mutex
	paused map[string]time.Time // account link id → until
}

// NewFetchProfileOnMessageReceived returns the reaction for the given platforms' fetchers.
func NewFetchProfileOnMessageReceived(d Deps, o Options, fetchers ...Fetcher) *FetchProfileOnMessageReceived {
	o.defaults()
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &FetchProfileOnMessageReceived{d: d, o: o, fetchers: map[string]Fetcher{}, limiters: map[string]*rate.Limiter{},
		cache: newTTLCache(o.CacheSize), paused: map[string]time.Time{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_profile_fetches_total",
			Help: "Prospect profile fetches for messages that carry only an id, by platform and result."},
			[]string{"platform", "result"}),
	}
	if d.Registry != nil {
		d.Registry.MustRegister(r.results)
	}
	for _, f := range fetchers {
		name := f.Platform().String()
		r.fetchers[name] = f
		limit, burst := f.Limit()
		r.limiters[name] = rate.NewLimiter(limit, max(burst, 1))
	}
	return r
}

// Name is the handler's frozen name: its consumer group.
func (r *FetchProfileOnMessageReceived) Name() string { return Group }

// Types are the only events the reaction reads: the log leaves every other type out before
// decoding it.
var Types = []string{domain.TypeMessageReceived}

// Run consumes the log's messages until ctx is done.
func (r *FetchProfileOnMessageReceived) Run(ctx context.Context) error {
	return r.d.Log.ConsumeTypes(ctx, Group, Types, r.HandleRecords)
}

// HandleRecords is the consumer group's handler. It fails only when ctx ends, so the batch is
// delivered again after a restart; everything else is handled (or given up) in place.
func (r *FetchProfileOnMessageReceived) HandleRecords(ctx context.Context, records []eventlog.Record) error {
	for _, rec := range records {
		if err := r.Handle(ctx, rec.Event); err != nil {
			return err
		}
	}
	return nil
}

// Handle reacts to one event. It returns an error only when ctx is done.
func (r *FetchProfileOnMessageReceived) Handle(ctx context.Context, e domain.Event) error {
	m, ok := e.Payload.(domain.MessageReceived)
	if !ok || m.Direction != domain.Inbound || (e.Origin != domain.OriginWebhook && e.Origin != domain.OriginPoll) {
		return nil
	}
	if m.Prospect.PlatformID == "" || m.Prospect.DisplayName != "" || m.Prospect.Username != "" {
		return nil // the platform named them in the payload: the projection took it from there
	}
	platform := m.Platform.String()
	f, ok := r.fetchers[platform]
	if !ok {
		return nil
	}
	count := func(result string) { r.results.WithLabelValues(platform, result).Inc() }
	now := r.o.Now()
	if r.cache.Has(m.ProspectID, now) {
		count(ResultCached)
		return nil
	}
	if r.pausedUntil(m.AccountLinkID, now) {
		count(ResultPaused)
		return nil
	}
	log := r.d.Logger.With("platform", platform, "account_link_id", m.AccountLinkID, "prospect_id", m.ProspectID)
	pr, err := r.d.Reader.Prospect(ctx, e.TeamID, m.ProspectID)
	switch {
	case err == nil && (pr.DisplayName != "" || pr.Username != ""):
		r.cache.Put(m.ProspectID, now.Add(r.o.TTL))
		count(ResultNamed)
		return nil
	case err != nil && !errors.Is(err, projections.ErrNotFound):
		// The check only saves a request; the fetch below is harmless without it.
		log.Debug("profiles: read model unavailable; fetching anyway", "err", err)
	}
	// Claimed before the fetch: whatever happens, this prospect waits at least FailureTTL.
	r.cache.Put(m.ProspectID, now.Add(r.o.FailureTTL))

	link, err := r.d.Reader.AccountLinkByID(ctx, m.AccountLinkID)
	if err != nil || link.TeamID != e.TeamID || link.Platform != platform || link.Unlinked {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		count(ResultFailed)
		log.Warn("profiles: account link unavailable; profile not fetched", "err", err, "unlinked", link.Unlinked)
		return nil
	}
	creds, err := r.d.Credentials.Get(ctx, link.TeamID, link.ID)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		count(ResultFailed)
		log.Warn("profiles: credentials unavailable; profile not fetched")
		return nil
	}
	if err := r.limiters[platform].Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		count(ResultFailed)
		log.Warn("profiles: rate limiter refused the fetch", "err", err)
		return nil
	}
	p, err := r.fetch(ctx, f, link, creds, m.Prospect.PlatformID)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if ra, ok := platforms.IsRetryAfter(err); ok {
			r.pause(link.ID, r.o.Now().Add(ra.After))
			count(ResultRateLimited)
			log.Warn("profiles: rate-limited by the platform; pausing the link", "retry_after", ra.After)
			return nil
		}
		if ae, ok := platforms.IsAuth(err); ok {
			r.pause(link.ID, r.o.Now().Add(r.o.AuthBackoff))
			count(ResultAuthRefused)
			log.Warn("profiles: the platform refused the link's credentials; pausing the link", "reason", ae.Reason,
				"retry_in", r.o.AuthBackoff)
			return nil
		}
		count(ResultFailed)
		log.Warn("profiles: profile not fetched", "err", err)
		return nil
	}
	if p.DisplayName == "" && p.Username == "" && p.AvatarURL == "" {
		r.cache.Put(m.ProspectID, r.o.Now().Add(r.o.TTL))
		count(ResultEmpty)
		return nil
	}
	p.PlatformID = m.Prospect.PlatformID
	_, err = r.d.Receiver.Handle(ctx, commands.ReceivePlatform{Link: link, Origin: domain.OriginPoll,
		Items: []domain.PlatformItem{domain.PlatformProfile{Prospect: p}}, RawContentType: "application/json"})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		count(ResultFailed)
		log.Warn("profiles: profile fetched but not recorded", "err", err)
		return nil
	}
	r.cache.Put(m.ProspectID, r.o.Now().Add(r.o.TTL))
	count(ResultUpdated)
	log.Debug("profiles: profile recorded")
	return nil
}

// fetch calls the fetcher with its own deadline.
func (r *FetchProfileOnMessageReceived) fetch(ctx context.Context, f Fetcher, link projections.AccountLink,
	creds map[string]string, id string) (domain.Participant, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.FetchTimeout)
	defer cancel()
	return f.Fetch(ctx, platforms.Link{ID: link.ID, TeamID: link.TeamID, PlatformID: link.PlatformID}, creds, id)
}

func (r *FetchProfileOnMessageReceived) pause(linkID string, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.paused[linkID] = until
}

func (r *FetchProfileOnMessageReceived) pausedUntil(linkID string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.paused[linkID]
	if ok && !now.Before(until) {
		delete(r.paused, linkID)
		return false
	}
	return ok
}
