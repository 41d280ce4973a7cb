package profiles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

const (
	team    = "team_1"
	linkID  = "acc_page"
	link2ID = "acc_page2"
)

type fakeReader struct {
	mu        sync.Mutex
	links     map[string]projections.AccountLink
	prospects map[string]projections.Prospect
}

func (f *fakeReader) AccountLinkByID(_ context.Context, id string) (projections.AccountLink, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.links[id]; ok {
		return l, nil
	}
	return projections.AccountLink{}, projections.ErrNotFound
}

func (f *fakeReader) Prospect(_ context.Context, teamID, id string) (projections.Prospect, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.prospects[id]; ok && p.TeamID == teamID {
		return p, nil
	}
	return projections.Prospect{}, projections.ErrNotFound
}

type fakeCreds struct{}

func (fakeCreds) Get(_ context.Context, teamID, id string) (map[string]string, error) {
	return map[string]string{"access_token": testToken, "app_secret": testSecret}, nil
}

type recorder struct {
	mu   sync.Mutex
	got  []commands.ReceivePlatform
	fail error
}

func (r *recorder) Handle(_ context.Context, c commands.ReceivePlatform) (commands.ReceiveResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return commands.ReceiveResult{}, r.fail
	}
	r.got = append(r.got, c)
	return commands.ReceiveResult{Appended: len(c.Items)}, nil
}

func (r *recorder) profiles() []domain.Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.Participant
	for _, c := range r.got {
		for _, it := range c.Items {
			out = append(out, it.(domain.PlatformProfile).Prospect)
		}
	}
	return out
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeGraph answers profiles by PSID, counting requests; status, when set, is returned instead.
type fakeGraph struct {
	hits   sync.Map // psid → *atomic.Int32
	total  atomic.Int32
	status atomic.Int32
	body   atomic.Value // string
}

func (g *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	psid := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	n, _ := g.hits.LoadOrStore(psid, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	g.total.Add(1)
	if s := g.status.Load(); s != 0 {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(int(s))
		_, _ = w.Write([]byte(g.body.Load().(string)))
		return
	}
	fmt.Fprintf(w, `{"first_name":"First%s","last_name":"Last","profile_pic":"https://cdn.example/%s.jpg","id":"%s"}`, psid, psid, psid)
}

func (g *fakeGraph) count(psid string) int32 {
	if n, ok := g.hits.Load(psid); ok {
		return n.(*atomic.Int32).Load()
	}
	return 0
}

type harness struct {
	r     *FetchProfileOnMessageReceived
	graph *fakeGraph
	read  *fakeReader
	recv  *recorder
	clock *clock
	reg   *prometheus.Registry
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newHarness(t *testing.T, o Options, fetchers ...Fetcher) *harness {
	t.Helper()
	h := &harness{graph: &fakeGraph{}, recv: &recorder{}, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	h.graph.body.Store("")
	srv := graphServer(t, h.graph.ServeHTTP)
	h.read = &fakeReader{links: map[string]projections.AccountLink{
		linkID:  {ID: linkID, TeamID: team, Platform: "messenger", PlatformID: "PAGE_1", Active: true},
		link2ID: {ID: link2ID, TeamID: team, Platform: "messenger", PlatformID: "PAGE_2", Active: true},
	}, prospects: map[string]projections.Prospect{}}
	if fetchers == nil {
		fetchers = GraphFetchers(GraphConfig{BaseURLs: platforms.BaseURLs{"messenger": srv.URL, "instagram": srv.URL}})
	}
	o.Now = h.clock.Now
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.r = NewFetchProfileOnMessageReceived(Deps{Reader: h.read, Credentials: fakeCreds{}, Receiver: h.recv,
		Logger: logger, Registry: h.reg}, o, fetchers...)
	t.Cleanup(func() { noSecrets(t, "logs", h.logs.String()) })
	return h
}

// message is an inbound message.received of psid on link, as a webhook records it.
func message(link, psid string, mutate ...func(*domain.Event, *domain.MessageReceived)) domain.Event {
	m := domain.MessageReceived{MessageID: domain.NewID(domain.PrefixMessage), ProspectID: domain.ProspectID(team, domain.PlatformMessenger, psid),
		AccountLinkID: link, Platform: domain.PlatformMessenger, PlatformMessageID: domain.NewID("m_"), Direction: domain.Inbound,
		Prospect: domain.Participant{PlatformID: psid}, Text: "hi"}
	e := domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: team, Key: m.ProspectID, Origin: domain.OriginWebhook}
	for _, f := range mutate {
		f(&e, &m)
	}
	e.Payload = m
	return e
}

func (h *harness) handle(t *testing.T, events ...domain.Event) {
	t.Helper()
	recs := make([]eventlog.Record, len(events))
	for i, e := range events {
		recs[i] = eventlog.Record{Event: e}
	}
	if err := h.r.HandleRecords(context.Background(), recs); err != nil {
		t.Fatalf("handle: %v", err)
	}
}

func (h *harness) result(platform, result string) float64 {
	mfs, _ := h.reg.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_profile_fetches_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["platform"] == platform && labels["result"] == result {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func TestReactionFetchesOnceAndRecords(t *testing.T) {
	h := newHarness(t, Options{})
	h.handle(t, message(linkID, "111"), message(linkID, "111"), message(linkID, "111"))
	if n := h.graph.count("111"); n != 1 {
		t.Fatalf("Graph saw %d requests for one prospect, want 1", n)
	}
	h.recv.mu.Lock()
	if len(h.recv.got) != 1 {
		t.Fatalf("recorded %d times", len(h.recv.got))
	}
	c := h.recv.got[0]
	h.recv.mu.Unlock()
	if c.Link.ID != linkID || c.Origin != domain.OriginPoll {
		t.Errorf("recorded for %s with origin %s", c.Link.ID, c.Origin)
	}
	want := domain.Participant{PlatformID: "111", DisplayName: "First111 Last", AvatarURL: "https://cdn.example/111.jpg"}
	if got := h.recv.profiles(); len(got) != 1 || got[0] != want {
		t.Errorf("profile %+v, want %+v", got, want)
	}
	if h.result("messenger", ResultUpdated) != 1 || h.result("messenger", ResultCached) != 2 {
		t.Errorf("counted updated %v cached %v", h.result("messenger", ResultUpdated), h.result("messenger", ResultCached))
	}
}

func TestReactionSkipsWhatNeedsNoFetch(t *testing.T) {
	h := newHarness(t, Options{})
	named := domain.ProspectID(team, domain.PlatformMessenger, "named")
	h.read.prospects[named] = projections.Prospect{ID: named, TeamID: team, DisplayName: "Known"}
	h.handle(t,
		message(linkID, "out", func(_ *domain.Event, m *domain.MessageReceived) { m.Direction = domain.Outbound }),
		message(linkID, "api", func(e *domain.Event, _ *domain.MessageReceived) { e.Origin = domain.OriginAPI }),
		message(linkID, "backfill", func(e *domain.Event, _ *domain.MessageReceived) { e.Origin = domain.OriginBackfill }),
		message(linkID, "payload", func(_ *domain.Event, m *domain.MessageReceived) { m.Prospect.DisplayName = "In payload" }),
		message(linkID, "handle", func(_ *domain.Event, m *domain.MessageReceived) { m.Prospect.Username = "handle" }),
		message(linkID, "tg", func(_ *domain.Event, m *domain.MessageReceived) { m.Platform = domain.PlatformTelegram }),
		message(linkID, "named"),
		domain.Event{ID: "evt_x", TeamID: team, Key: team, Origin: domain.OriginWebhook, Payload: domain.TagCreated{TagID: "tag_1"}},
	)
	if n := h.graph.total.Load(); n != 0 {
		t.Errorf("Graph saw %d requests", n)
	}
	if h.result("messenger", ResultNamed) != 1 {
		t.Errorf("named not counted")
	}
	// A poll brings a nameless prospect too.
	h.handle(t, message(linkID, "polled", func(e *domain.Event, _ *domain.MessageReceived) { e.Origin = domain.OriginPoll }))
	if h.graph.count("polled") != 1 {
		t.Error("poll origin not fetched")
	}
}

func TestReactionRefetchesAfterTTL(t *testing.T) {
	h := newHarness(t, Options{TTL: time.Hour})
	h.handle(t, message(linkID, "111"))
	h.clock.Add(59 * time.Minute)
	h.handle(t, message(linkID, "111"))
	if n := h.graph.count("111"); n != 1 {
		t.Fatalf("within TTL: %d requests", n)
	}
	h.clock.Add(2 * time.Minute)
	h.handle(t, message(linkID, "111"))
	if n := h.graph.count("111"); n != 2 {
		t.Fatalf("after TTL: %d requests", n)
	}
}

func TestReactionFailuresMoveOn(t *testing.T) {
	h := newHarness(t, Options{FailureTTL: time.Minute})
	h.graph.status.Store(500)
	h.graph.body.Store(`{"error":{"message":"boom ` + testToken + `","type":"OAuthException","code":2,"fbtrace_id":"x"}}`)
	h.handle(t, message(linkID, "111"), message(linkID, "111"))
	if n := h.graph.count("111"); n != 1 || h.result("messenger", ResultFailed) != 1 || len(h.recv.profiles()) != 0 {
		t.Fatalf("failure: %d requests, %v failed", n, h.result("messenger", ResultFailed))
	}
	// The next message after FailureTTL tries again, and succeeds.
	h.graph.status.Store(0)
	h.clock.Add(61 * time.Second)
	h.handle(t, message(linkID, "111"))
	if n := h.graph.count("111"); n != 2 || len(h.recv.profiles()) != 1 {
		t.Fatalf("retry: %d requests, %d recorded", n, len(h.recv.profiles()))
	}

	// A profile fetched but not recorded is retried as well.
	h.recv.fail = domain.Unavailable("the event log", errors.New("down"))
	h.handle(t, message(linkID, "222"))
	h.recv.fail = nil
	h.clock.Add(61 * time.Second)
	h.handle(t, message(linkID, "222"))
	if n := h.graph.count("222"); n != 2 || len(h.recv.profiles()) != 2 {
		t.Fatalf("record failure: %d requests, %d recorded", n, len(h.recv.profiles()))
	}

	// An unknown or unlinked link is counted, not fetched.
	h.read.links["acc_gone"] = projections.AccountLink{ID: "acc_gone", TeamID: team, Platform: "messenger", Unlinked: true}
	h.handle(t, message("acc_gone", "333"), message("acc_missing", "444"))
	if h.graph.count("333")+h.graph.count("444") != 0 || h.result("messenger", ResultFailed) != 4 {
		t.Errorf("unusable links: %v failed", h.result("messenger", ResultFailed))
	}
}

func TestReactionPausesOnAuthAndRateLimit(t *testing.T) {
	for _, c := range []struct {
		name, result string
		status       int32
		body         string
		pause        time.Duration
	}{
		{"auth", ResultAuthRefused, 400, `{"error":{"message":"Error validating access token ` + testToken + `","type":"OAuthException","code":190,"error_subcode":460}}`, 10 * time.Minute},
		{"rate limit", ResultRateLimited, 429, ``, 60 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.graph.status.Store(c.status)
			h.graph.body.Store(c.body)
			h.handle(t, message(linkID, "111"))
			h.graph.status.Store(0)
			// The link rests; another link of the platform does not.
			h.handle(t, message(linkID, "222"), message(link2ID, "333"))
			if h.graph.count("222") != 0 || h.graph.count("333") != 1 {
				t.Fatalf("paused link fetched: 222=%d 333=%d", h.graph.count("222"), h.graph.count("333"))
			}
			if h.result("messenger", c.result) != 1 || h.result("messenger", ResultPaused) != 1 {
				t.Errorf("counted %s %v paused %v", c.result, h.result("messenger", c.result), h.result("messenger", ResultPaused))
			}
			h.clock.Add(c.pause + time.Second)
			h.handle(t, message(linkID, "222"))
			if h.graph.count("222") != 1 {
				t.Errorf("not resumed after %v", c.pause)
			}
			if c.name == "auth" && !strings.Contains(h.logs.String(), "code 190") {
				t.Errorf("the refusal is not logged: %s", h.logs.String())
			}
		})
	}
}

func TestReactionTokenNeverLogged(t *testing.T) {
	h := newHarness(t, Options{})
	for i, body := range []string{
		`{"error":{"message":"Invalid OAuth access token ` + testToken + `","type":"OAuthException","code":190}}`,
		`{"error":{"message":"(#100) bad ` + testToken + `","type":"OAuthException","code":100}}`,
		`<html>` + testToken + `</html>`,
	} {
		id := fmt.Sprintf("acc_%d", i)
		h.read.links[id] = projections.AccountLink{ID: id, TeamID: team, Platform: "messenger"}
		h.graph.status.Store(400)
		h.graph.body.Store(body)
		h.handle(t, message(id, fmt.Sprint(i)))
	}
	if h.graph.total.Load() != 3 || h.result("messenger", ResultAuthRefused) != 1 || h.result("messenger", ResultFailed) != 2 {
		t.Errorf("%d requests", h.graph.total.Load())
	}
	if strings.Count(h.logs.String(), "level=WARN") != 3 {
		t.Errorf("failures not logged: %s", h.logs.String())
	}
	// noSecrets on the logs runs at cleanup.
}

// stubFetcher answers at once, recording when it was called.
type stubFetcher struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	calls []time.Time
	block bool
}

func (s *stubFetcher) Platform() domain.Platform { return domain.PlatformInstagram }
func (s *stubFetcher) Limit() (rate.Limit, int)  { return s.limit, s.burst }
func (s *stubFetcher) Fetch(ctx context.Context, _ platforms.Link, _ map[string]string, id string) (domain.Participant, error) {
	s.mu.Lock()
	s.calls = append(s.calls, time.Now())
	s.mu.Unlock()
	if s.block {
		<-ctx.Done()
		return domain.Participant{}, ctx.Err()
	}
	return domain.Participant{Username: "u" + id}, nil
}

func igMessage(psid string) domain.Event {
	return message("acc_ig", psid, func(e *domain.Event, m *domain.MessageReceived) {
		m.Platform = domain.PlatformInstagram
		m.ProspectID = domain.ProspectID(team, domain.PlatformInstagram, psid)
		e.Key = m.ProspectID
	})
}

func TestReactionRespectsTheLimiter(t *testing.T) {
	f := &stubFetcher{limit: 20, burst: 1}
	h := newHarness(t, Options{}, f)
	h.read.links["acc_ig"] = projections.AccountLink{ID: "acc_ig", TeamID: team, Platform: "instagram"}
	start := time.Now()
	for i := range 6 {
		h.handle(t, igMessage(fmt.Sprint(i)))
	}
	elapsed := time.Since(start)
	// 6 fetches at 20/s with a burst of 1: at least 5 intervals of 50ms.
	if len(f.calls) != 6 || elapsed < 200*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("%d fetches in %v", len(f.calls), elapsed)
	}
	for i := 1; i < len(f.calls); i++ {
		if gap := f.calls[i].Sub(f.calls[i-1]); gap < 30*time.Millisecond {
			t.Errorf("fetch %d came %v after the previous one", i, gap)
		}
	}
	if got := h.recv.profiles(); len(got) != 6 || got[0].Username != "u0" || got[0].PlatformID != "0" {
		t.Errorf("recorded %+v", got)
	}
}

func TestReactionBoundsASlowFetch(t *testing.T) {
	f := &stubFetcher{limit: rate.Inf, burst: 1, block: true}
	h := newHarness(t, Options{FetchTimeout: 100 * time.Millisecond}, f)
	h.read.links["acc_ig"] = projections.AccountLink{ID: "acc_ig", TeamID: team, Platform: "instagram"}
	start := time.Now()
	h.handle(t, igMessage("slow"))
	if time.Since(start) > 3*time.Second || h.result("instagram", ResultFailed) != 1 {
		t.Errorf("slow fetch: %v, failed %v", time.Since(start), h.result("instagram", ResultFailed))
	}
}

func TestReactionStopsWithItsContext(t *testing.T) {
	f := &stubFetcher{limit: rate.Inf, burst: 1, block: true}
	h := newHarness(t, Options{FetchTimeout: time.Minute}, f)
	h.read.links["acc_ig"] = projections.AccountLink{ID: "acc_ig", TeamID: team, Platform: "instagram"}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// Not checkpointed: the batch is delivered again after a restart.
	if err := h.r.HandleRecords(ctx, []eventlog.Record{{Event: igMessage("x")}}); err == nil {
		t.Error("a cancelled batch reported success")
	}
}

// fakeLog delivers one batch to the group, then waits for ctx.
type fakeLog struct {
	group string
	types []string
	batch []eventlog.Record
	err   error
}

func (l *fakeLog) ConsumeTypes(ctx context.Context, group string, types []string, h eventlog.Handler) error {
	l.group, l.types = group, types
	l.err = h(ctx, l.batch)
	return l.err
}

func TestReactionConsumesItsFrozenGroup(t *testing.T) {
	h := newHarness(t, Options{})
	log := &fakeLog{batch: []eventlog.Record{{Event: message(linkID, "111")}}}
	h.r.d.Log = log
	if err := h.r.Run(context.Background()); err != nil || log.group != "profiles.v1" || h.r.Name() != "profiles.v1" {
		t.Errorf("group %q, err %v", log.group, err)
	}
	if !slices.Equal(log.types, []string{domain.TypeMessageReceived}) {
		t.Errorf("the reaction reads types %v, want only %s", log.types, domain.TypeMessageReceived)
	}
	if h.graph.count("111") != 1 {
		t.Error("batch not handled")
	}
}

func TestTTLCache(t *testing.T) {
	c := newTTLCache(2)
	now := time.Unix(0, 0)
	c.Put("a", now.Add(time.Minute))
	c.Put("b", now.Add(time.Minute))
	if !c.Has("a", now) { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Put("c", now.Add(time.Minute)) // evicts b
	if c.Has("b", now) || !c.Has("a", now) || !c.Has("c", now) || c.Len() != 2 {
		t.Error("LRU eviction")
	}
	if c.Has("a", now.Add(time.Minute)) {
		t.Error("expired key kept")
	}
}
