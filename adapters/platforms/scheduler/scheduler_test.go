package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// ---- fakes of the scheduler's ports ----

type fakeLinks struct {
	mu     sync.Mutex
	active map[string]projections.AccountLink
	err    error
}

func newFakeLinks(links ...projections.AccountLink) *fakeLinks {
	f := &fakeLinks{active: map[string]projections.AccountLink{}}
	for _, l := range links {
		f.set(l)
	}
	return f
}

func (f *fakeLinks) set(l projections.AccountLink) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l.Active = true
	f.active[l.ID] = l
}

func (f *fakeLinks) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.active, id)
}

func (f *fakeLinks) ActiveAccountLinks(_ context.Context, ps []string) ([]projections.AccountLink, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []projections.AccountLink
	for _, l := range f.active {
		for _, p := range ps {
			if l.Platform == p {
				out = append(out, l)
			}
		}
	}
	return out, nil
}

type fakeCreds struct {
	mu    sync.Mutex
	creds map[string]map[string]string
}

func (f *fakeCreds) Get(_ context.Context, _, id string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.creds[id]), nil
}

func (f *fakeCreds) set(id string, c map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.creds == nil {
		f.creds = map[string]map[string]string{}
	}
	f.creds[id] = c
}

// fakeReceiver records the message ids it was given, per link; it can fail some calls.
type fakeReceiver struct {
	mu        sync.Mutex
	got       map[string][]string
	calls     int
	failCalls map[int]bool // 1-based call numbers that fail
}

func (r *fakeReceiver) Handle(_ context.Context, c commands.ReceivePlatform) (commands.ReceiveResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failCalls[r.calls] {
		return commands.ReceiveResult{}, domain.Unavailable("the event log", errors.New("down"))
	}
	if c.Origin != domain.OriginPoll {
		return commands.ReceiveResult{}, fmt.Errorf("origin %q, want poll", c.Origin)
	}
	if r.got == nil {
		r.got = map[string][]string{}
	}
	for _, it := range c.Items {
		r.got[c.Link.ID] = append(r.got[c.Link.ID], it.(domain.PlatformMessage).PlatformMessageID)
	}
	return commands.ReceiveResult{Appended: len(c.Items)}, nil
}

func (r *fakeReceiver) ids(link string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got[link]...)
}

type memCursors struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *memCursors) Get(_ context.Context, id string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id], nil
}

func (c *memCursors) Put(_ context.Context, id, cursor string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[id] = cursor
	return nil
}

type fakeHealth struct {
	mu      sync.Mutex
	reports []commands.ReportAccountHealth
	onCall  func(commands.ReportAccountHealth)
}

func (h *fakeHealth) Handle(_ context.Context, c commands.ReportAccountHealth) (commands.ReportAccountHealthResult, error) {
	h.mu.Lock()
	h.reports = append(h.reports, c)
	on := h.onCall
	h.mu.Unlock()
	if on != nil {
		on(c)
	}
	return commands.ReportAccountHealthResult{Changed: true}, nil
}

func (h *fakeHealth) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reports)
}

// fakePoller answers each poll with its function; it counts polls per link.
type fakePoller struct {
	platform domain.Platform
	limit    rate.Limit
	burst    int
	poll     func(ctx context.Context, link platforms.Link, creds map[string]string, cursor string) (platforms.PollResult, error)

	mu      sync.Mutex
	calls   map[string]int
	cursors map[string][]string
}

func (p *fakePoller) Platform() domain.Platform { return p.platform }
func (p *fakePoller) Limit() (rate.Limit, int) {
	if p.limit == 0 {
		return rate.Inf, 1
	}
	return p.limit, p.burst
}

func (p *fakePoller) Poll(ctx context.Context, link platforms.Link, creds map[string]string, cursor string) (platforms.PollResult, error) {
	p.mu.Lock()
	if p.calls == nil {
		p.calls, p.cursors = map[string]int{}, map[string][]string{}
	}
	p.calls[link.ID]++
	p.cursors[link.ID] = append(p.cursors[link.ID], cursor)
	p.mu.Unlock()
	return p.poll(ctx, link, creds, cursor)
}

func (p *fakePoller) count(link string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[link]
}

func (p *fakePoller) cursorsOf(link string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.cursors[link]...)
}

func link(platform domain.Platform, name string) projections.AccountLink {
	team := domain.DeriveID(domain.PrefixTeam, "scheduler test")
	return projections.AccountLink{ID: domain.AccountLinkID(team, platform, name), TeamID: team,
		Platform: platform.String(), PlatformID: name, Active: true, Healthy: true}
}

func msg(id string) domain.PlatformMessage {
	return domain.PlatformMessage{PlatformMessageID: id, Direction: domain.Inbound,
		Prospect: domain.Participant{PlatformID: "someone"}, Text: id}
}

type world struct {
	links   *fakeLinks
	creds   *fakeCreds
	recv    *fakeReceiver
	cursors *memCursors
	health  *fakeHealth
	reg     *prometheus.Registry
}

func newWorld(links ...projections.AccountLink) *world {
	w := &world{links: newFakeLinks(links...), creds: &fakeCreds{}, recv: &fakeReceiver{}, cursors: &memCursors{},
		health: &fakeHealth{}, reg: prometheus.NewRegistry()}
	for _, l := range links {
		w.creds.set(l.ID, map[string]string{"token": "t-" + l.PlatformID})
	}
	return w
}

func (w *world) deps() Deps {
	return Deps{Links: w.links, Credentials: w.creds, Receiver: w.recv, Cursors: w.cursors, Health: w.health,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: w.reg,
		Interval: 20 * time.Millisecond, PollTimeout: 300 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, AuthRecheck: time.Hour}
}

// start runs a scheduler until the test ends (or stop is called).
func start(t *testing.T, d Deps, pollers ...platforms.Poller) (s *Scheduler, stop func()) {
	t.Helper()
	s = New(d, pollers...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run returned %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

// eventually waits (generously: the machine may be loaded) for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// ---- cases ----

// A scheduler stopped mid-backlog and started again resumes at the stored cursor: every item
// is recorded exactly once, with no gap, even across a failed append.
func TestCursorSurvivesRestartWithoutGapOrDuplicate(t *testing.T) {
	const total = 60
	l := link(domain.PlatformBluesky, "did:plc:alice")
	w := newWorld(l)
	w.recv.failCalls = map[int]bool{3: true} // one append fails: that poll must be repeated
	var open atomic.Bool                     // until open, the platform hangs halfway: the first run stops there
	p := &fakePoller{platform: domain.PlatformBluesky, poll: func(ctx context.Context, _ platforms.Link, _ map[string]string, cursor string) (platforms.PollResult, error) {
		n, _ := strconv.Atoi(cursor)
		if n >= total/2 && !open.Load() {
			<-ctx.Done()
			return platforms.PollResult{}, ctx.Err()
		}
		if n >= total {
			return platforms.PollResult{Cursor: cursor}, nil
		}
		return platforms.PollResult{Items: []domain.PlatformItem{msg(strconv.Itoa(n + 1)), msg(strconv.Itoa(n + 2))},
			Cursor: strconv.Itoa(n + 2), More: true}, nil
	}}
	_, stop := start(t, w.deps(), p)
	eventually(t, "half the backlog", func() bool { return len(w.recv.ids(l.ID)) >= total/2 })
	stop()
	first := len(w.recv.ids(l.ID))
	stored, _ := w.cursors.Get(context.Background(), l.ID)
	if first >= total || stored == "" {
		t.Fatalf("after the first run: %d items, cursor %q; want a part of the backlog and a cursor", first, stored)
	}

	open.Store(true)
	p2 := &fakePoller{platform: domain.PlatformBluesky, poll: p.poll}
	start(t, w.deps(), p2)
	eventually(t, "the whole backlog", func() bool { return len(w.recv.ids(l.ID)) >= total })
	if got := p2.cursorsOf(l.ID)[0]; got != stored {
		t.Fatalf("the restarted scheduler polled from %q, want the stored cursor %q", got, stored)
	}
	seen := map[string]int{}
	for _, id := range w.recv.ids(l.ID) {
		seen[id]++
	}
	for i := 1; i <= total; i++ {
		if n := seen[strconv.Itoa(i)]; n != 1 {
			t.Errorf("item %d recorded %d times, want once", i, n)
		}
	}
	// The failed append left the cursor where it was: its poll was asked again.
	cursors := p.cursorsOf(l.ID)
	if len(cursors) < 4 || cursors[2] != cursors[3] {
		t.Errorf("cursors polled = %v; want the third repeated after its failed append", cursors)
	}
}

// Polls of one link follow the poller's documented rate, even when it always has more.
func TestRateLimitRespected(t *testing.T) {
	l := link(domain.PlatformReddit, "alice")
	w := newWorld(l)
	p := &fakePoller{platform: domain.PlatformReddit, limit: 10, burst: 2,
		poll: func(context.Context, platforms.Link, map[string]string, string) (platforms.PollResult, error) {
			return platforms.PollResult{Cursor: "c", More: true}, nil
		}}
	_, stop := start(t, w.deps(), p)
	eventually(t, "a first poll", func() bool { return p.count(l.ID) > 0 })
	began := time.Now()
	time.Sleep(700 * time.Millisecond)
	stop()
	elapsed := time.Since(began)
	n := p.count(l.ID)
	// At 10/s with a burst of 2: at most 2 + 10/s over the window (plus one in flight).
	if most := 2 + int(elapsed.Seconds()*10) + 2; n > most {
		t.Fatalf("%d polls in %v, want at most %d", n, elapsed, most)
	}
	if n < 3 {
		t.Fatalf("%d polls in %v: polling stalled", n, elapsed)
	}
}

// A link whose platform hangs holds only itself: another link keeps its pace.
func TestHangingLinkDoesNotDelayOthers(t *testing.T) {
	slow, fast := link(domain.PlatformBluesky, "did:plc:slow"), link(domain.PlatformBluesky, "did:plc:fast")
	w := newWorld(slow, fast)
	var hung atomic.Int32
	p := &fakePoller{platform: domain.PlatformBluesky, poll: func(ctx context.Context, l platforms.Link, _ map[string]string, _ string) (platforms.PollResult, error) {
		if l.ID == slow.ID {
			hung.Add(1)
			<-ctx.Done() // the platform never answers
			return platforms.PollResult{}, ctx.Err()
		}
		return platforms.PollResult{Items: []domain.PlatformItem{msg(domain.NewID("m_"))}, Cursor: "x"}, nil
	}}
	d := w.deps()
	d.PollTimeout = 2 * time.Second
	_, stop := start(t, d, p)
	eventually(t, "the slow link to hang", func() bool { return hung.Load() > 0 })
	eventually(t, "the fast link to be polled 5 times while the other hangs", func() bool {
		return len(w.recv.ids(fast.ID)) >= 5
	})
	stop()
	if p.count(slow.ID) > 2 {
		t.Fatalf("the hanging link was polled %d times", p.count(slow.ID))
	}
}

// Refused credentials: one health report, the link stops until relinked.
func TestAuthFailureReportsAndStops(t *testing.T) {
	bad, good := link(domain.PlatformReddit, "bad"), link(domain.PlatformReddit, "good")
	w := newWorld(bad, good)
	p := &fakePoller{platform: domain.PlatformReddit, poll: func(_ context.Context, l platforms.Link, creds map[string]string, _ string) (platforms.PollResult, error) {
		if l.ID == bad.ID && creds["token"] != "fixed" {
			return platforms.PollResult{}, &platforms.AuthError{Reason: "Reddit refused the refresh token (invalid_grant)"}
		}
		return platforms.PollResult{Cursor: "c"}, nil
	}}
	s, _ := start(t, w.deps(), p)
	eventually(t, "a health report", func() bool { return w.health.count() == 1 })
	r := w.health.reports[0]
	if r.AccountLinkID != bad.ID || r.TeamID != bad.TeamID || r.Healthy || r.Origin != domain.OriginPoll ||
		r.Reason != "Reddit refused the refresh token (invalid_grant)" {
		t.Fatalf("report = %+v", r)
	}
	eventually(t, "the refused link to stop", func() bool { return !s.Polling(bad.ID) })
	// The read model still lists it active for a while (it lags): it is not polled again.
	polls := p.count(bad.ID)
	goodPolls := p.count(good.ID)
	eventually(t, "the healthy link to go on", func() bool { return p.count(good.ID) > goodPolls+5 })
	if p.count(bad.ID) != polls || w.health.count() != 1 {
		t.Fatalf("the refused link was polled %d more times and reported %d times", p.count(bad.ID)-polls, w.health.count())
	}

	// Relinked with new credentials: polling resumes at once.
	w.creds.set(bad.ID, map[string]string{"token": "fixed"})
	eventually(t, "the relinked link to be polled", func() bool { return p.count(bad.ID) > polls })
	if w.health.count() != 1 {
		t.Fatalf("%d reports, want 1", w.health.count())
	}

	// Refused again; then the projection shows it inactive, and a later relink (with the same
	// credentials) starts it again.
	w.creds.set(bad.ID, map[string]string{"token": "revoked"})
	eventually(t, "a second report", func() bool { return w.health.count() == 2 })
	w.links.remove(bad.ID)
	eventually(t, "the link to be forgotten", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, parked := s.parked[bad.ID]
		_, running := s.runs[bad.ID]
		return !parked && !running
	})
	polls = p.count(bad.ID)
	w.creds.set(bad.ID, map[string]string{"token": "fixed"})
	w.links.set(bad)
	eventually(t, "the relinked link to be polled", func() bool { return p.count(bad.ID) > polls })
}

// Retry-After is waited out; transient errors back off and recover; a removed link stops.
func TestRetryAfterBackoffAndRemoval(t *testing.T) {
	l := link(domain.PlatformBluesky, "did:plc:a")
	w := newWorld(l)
	var mu sync.Mutex
	var times []time.Time
	p := &fakePoller{platform: domain.PlatformBluesky, poll: func(_ context.Context, _ platforms.Link, _ map[string]string, cursor string) (platforms.PollResult, error) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		switch len(times) {
		case 1:
			return platforms.PollResult{}, &platforms.RetryAfter{After: 300 * time.Millisecond}
		case 2, 3, 4:
			return platforms.PollResult{}, errors.New("bluesky: getLog: 502 Bad Gateway")
		}
		return platforms.PollResult{Items: []domain.PlatformItem{msg("m" + strconv.Itoa(len(times)))}, Cursor: strconv.Itoa(len(times))}, nil
	}}
	s, _ := start(t, w.deps(), p)
	eventually(t, "recovery after the errors", func() bool { return len(w.recv.ids(l.ID)) >= 2 })
	mu.Lock()
	gap := times[1].Sub(times[0])
	mu.Unlock()
	if gap < 250*time.Millisecond {
		t.Fatalf("polled again %v after a Retry-After of 300ms", gap)
	}
	if got := counter(s.m.polls.WithLabelValues("bluesky", "rate_limited")); got != 1 {
		t.Errorf("rate_limited polls = %v, want 1", got)
	}
	if got := counter(s.m.polls.WithLabelValues("bluesky", "error")); got != 3 {
		t.Errorf("failed polls = %v, want 3", got)
	}
	if got := counter(s.m.polls.WithLabelValues("bluesky", "ok")); got < 2 {
		t.Errorf("ok polls = %v, want at least 2", got)
	}

	// Unlinked (or inactive): its goroutine stops.
	w.links.remove(l.ID)
	eventually(t, "the removed link to stop", func() bool { return !s.Polling(l.ID) })
	n := p.count(l.ID)
	time.Sleep(100 * time.Millisecond)
	if p.count(l.ID) != n {
		t.Fatal("a removed link is still polled")
	}
}

// Links of platforms without a poller are left alone; an unreadable link list keeps polling.
func TestOnlyPollingPlatformsAndListFailures(t *testing.T) {
	blue, messenger := link(domain.PlatformBluesky, "did:plc:a"), link(domain.PlatformMessenger, "page")
	w := newWorld(blue, messenger)
	p := &fakePoller{platform: domain.PlatformBluesky, poll: func(context.Context, platforms.Link, map[string]string, string) (platforms.PollResult, error) {
		return platforms.PollResult{Cursor: "c"}, nil
	}}
	s, _ := start(t, w.deps(), p)
	eventually(t, "the bluesky link to be polled", func() bool { return p.count(blue.ID) > 0 })
	if s.Polling(messenger.ID) {
		t.Fatal("a messenger link is polled")
	}
	w.links.mu.Lock()
	w.links.err = errors.New("read model down")
	w.links.mu.Unlock()
	n := p.count(blue.ID)
	eventually(t, "polling to go on while the list is unreadable", func() bool { return p.count(blue.ID) > n+3 })
}
