// Package scheduler runs every polling platform adapter (adapters/platforms.Poller) for every
// active account link of its platform: one scheduler per ingest process, one goroutine per
// link, each with its own rate limiter, cursor, backoff and poll timeout, so a slow or failing
// account never delays another.
//
// A poll's cursor is stored only after its items are durably in the event log: a crash
// repeats a poll (its events are deduplicated by their derived ids), it never skips one.
package scheduler

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/projections"
)

// CursorStore keeps each account link's poll cursor, so polling resumes where it stopped
// after a restart. Adapters: adapters/sqlite and adapters/postgres; every adapter passes
// scheduler/cursorstoretest.
type CursorStore interface {
	// Get returns the link's cursor, "" when none is stored.
	Get(ctx context.Context, accountLinkID string) (string, error)
	// Put replaces the link's cursor.
	Put(ctx context.Context, accountLinkID, cursor string) error
}

// Links lists the account links to poll.
type Links interface {
	ActiveAccountLinks(ctx context.Context, platforms []string) ([]projections.AccountLink, error)
}

// HealthReporter records an account link whose credentials the platform refused.
type HealthReporter interface {
	Handle(ctx context.Context, c commands.ReportAccountHealth) (commands.ReportAccountHealthResult, error)
}

// SharedLimiter is implemented by a Poller whose platform also limits all accounts together
// (Bluesky's PDS counts every request of one client IP): the scheduler then makes every link
// of the platform share one limiter as well as each having its own.
type SharedLimiter interface {
	SharedLimit() (rate.Limit, int)
}

// Deps are what the scheduler needs. Zero durations take the defaults.
type Deps struct {
	Links       Links
	Credentials platforms.Credentials
	Receiver    platforms.Receiver
	Cursors     CursorStore
	Health      HealthReporter
	Logger      *slog.Logger
	Registry    *prometheus.Registry // metrics are registered here when set

	// Interval is the wait between two polls of a caught-up link (default 10s).
	Interval time.Duration
	// Refresh is how often the active links are listed again (default Interval).
	Refresh time.Duration
	// PollTimeout bounds one poll, so a hanging platform holds only its own link (default 45s:
	// above long polls such as Telegram's).
	PollTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait after a failed poll (default 1s
	// and 5m).
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps a platform's Retry-After (default 15m).
	MaxRetryAfter time.Duration
	// AuthRecheck is how long a link whose credentials were refused stays stopped while the
	// read model still lists it active with the same credentials (default 5m). A relink with
	// new credentials, or the link listed inactive then active again, restarts it at once.
	AuthRecheck time.Duration
}

// Defaults of Deps.
const (
	DefaultInterval      = 10 * time.Second
	DefaultPollTimeout   = 45 * time.Second
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultMaxRetryAfter = 15 * time.Minute
	DefaultAuthRecheck   = 5 * time.Minute
)

// Scheduler polls every active account link of its pollers' platforms.
type Scheduler struct {
	d       Deps
	pollers map[string]platforms.Poller
	names   []string
	shared  map[string]*rate.Limiter
	m       *metrics

	mu     sync.Mutex
	runs   map[string]context.CancelFunc // links being polled (or stopping), by id
	parked map[string]parked             // links stopped on refused credentials
	wg     sync.WaitGroup
}

// parked remembers a link stopped on refused credentials, and a digest of those credentials
// (in memory only) to notice a relink with new ones.
type parked struct {
	at    time.Time
	creds [sha256.Size]byte
}

// New returns a scheduler for the pollers (one per platform; a later one replaces an earlier
// one of the same platform).
func New(d Deps, pollers ...platforms.Poller) *Scheduler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.Interval = orDefault(d.Interval, DefaultInterval)
	d.Refresh = orDefault(d.Refresh, d.Interval)
	d.PollTimeout = orDefault(d.PollTimeout, DefaultPollTimeout)
	d.MinBackoff = orDefault(d.MinBackoff, DefaultMinBackoff)
	d.MaxBackoff = max(orDefault(d.MaxBackoff, DefaultMaxBackoff), d.MinBackoff)
	d.MaxRetryAfter = orDefault(d.MaxRetryAfter, DefaultMaxRetryAfter)
	d.AuthRecheck = orDefault(d.AuthRecheck, DefaultAuthRecheck)
	s := &Scheduler{d: d, pollers: map[string]platforms.Poller{}, shared: map[string]*rate.Limiter{},
		m: newMetrics(d.Registry), runs: map[string]context.CancelFunc{}, parked: map[string]parked{}}
	for _, p := range pollers {
		name := p.Platform().String()
		s.pollers[name] = p
		delete(s.shared, name)
		if sl, ok := p.(SharedLimiter); ok {
			r, b := sl.SharedLimit()
			s.shared[name] = rate.NewLimiter(r, b)
		}
	}
	for name := range s.pollers {
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Run polls until ctx ends: it lists the active links at once and then every Refresh,
// starting a goroutine for each new link and stopping those of links gone or inactive. It
// returns ctx's error once every link's goroutine has stopped. Run one at a time.
func (s *Scheduler) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		s.wg.Wait()
	}()
	if len(s.pollers) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(s.d.Refresh)
	defer t.Stop()
	for {
		s.sync(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// sync makes the running goroutines match the active links.
func (s *Scheduler) sync(ctx context.Context) {
	links, err := s.d.Links.ActiveAccountLinks(ctx, s.names)
	if err != nil {
		if ctx.Err() == nil {
			s.d.Logger.Warn("poll scheduler: cannot list the account links; keeping the current ones", "err", err)
		}
		return
	}
	active := make(map[string]projections.AccountLink, len(links))
	for _, l := range links {
		if _, ok := s.pollers[l.Platform]; ok {
			active[l.ID] = l
		}
	}
	var recheck []projections.AccountLink
	s.mu.Lock()
	for id, stop := range s.runs {
		if _, ok := active[id]; !ok {
			stop() // the goroutine leaves s.runs when it has stopped
		}
	}
	for id := range s.parked {
		if _, ok := active[id]; !ok {
			delete(s.parked, id) // seen inactive: a later relink starts it again
		}
	}
	for _, l := range links {
		if _, ok := active[l.ID]; !ok {
			continue
		}
		if _, running := s.runs[l.ID]; running {
			continue
		}
		if p, ok := s.parked[l.ID]; ok {
			if time.Since(p.at) < s.d.AuthRecheck {
				recheck = append(recheck, l)
				continue
			}
			delete(s.parked, l.ID)
		}
		s.start(ctx, l)
	}
	s.mu.Unlock()

	// A parked link relinked with new credentials before we saw it inactive starts at once.
	for _, l := range recheck {
		creds, err := s.d.Credentials.Get(ctx, l.TeamID, l.ID)
		if err != nil {
			continue
		}
		s.mu.Lock()
		if p, ok := s.parked[l.ID]; ok && p.creds != digest(creds) {
			delete(s.parked, l.ID)
			if _, running := s.runs[l.ID]; !running {
				s.start(ctx, l)
			}
		}
		s.mu.Unlock()
	}
}

// start runs a link's goroutine; s.mu is held.
func (s *Scheduler) start(ctx context.Context, l projections.AccountLink) {
	p := s.pollers[l.Platform]
	lctx, cancel := context.WithCancel(ctx)
	s.runs[l.ID] = cancel
	s.m.links.WithLabelValues(l.Platform).Inc()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		w := &worker{s: s, link: l, poller: p, shared: s.shared[l.Platform]}
		refused, creds := w.run(lctx)
		s.mu.Lock()
		delete(s.runs, l.ID)
		if refused {
			s.parked[l.ID] = parked{at: time.Now(), creds: creds}
		}
		s.mu.Unlock()
		s.m.links.WithLabelValues(l.Platform).Dec()
	}()
}

// Polling reports whether a link has a running goroutine (for tests and diagnostics).
func (s *Scheduler) Polling(accountLinkID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.runs[accountLinkID]
	return ok
}

// digest fingerprints credentials in memory, to notice new ones; it is never stored or logged.
func digest(creds map[string]string) [sha256.Size]byte {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(creds)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(creds[k]))
		h.Write([]byte{0})
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}
