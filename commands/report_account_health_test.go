package commands

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// projectingConsistency is a read model that honours WaitFor: it applies the log's
// account.health_changed events to the fake state up to the cursor, as the projector does.
type projectingConsistency struct {
	mu      sync.Mutex
	log     *fakeLog
	state   *fakeState
	applied int
}

func (p *projectingConsistency) WaitFor(context.Context, eventlog.Cursor) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	events := p.log.since(p.applied) // everything so far, so certainly up to the cursor
	for _, e := range events {
		if h, ok := e.Payload.(domain.AccountHealthChanged); ok {
			l := p.state.links[h.AccountLinkID]
			l.Healthy = h.Healthy
			if !l.Unlinked {
				l.Active, l.HealthReason = h.Healthy, h.Reason
			}
			p.state.links[h.AccountLinkID] = l
		}
	}
	p.applied += len(events)
	return nil
}

func newHealthEnv(t *testing.T) (*env, ReportAccountHealthHandler, *projectingConsistency) {
	t.Helper()
	e := newEnv(t)
	cons := &projectingConsistency{log: e.log, state: e.state}
	h := NewReportAccountHealthHandler(Deps{Keys: testKeys, Log: e.log, State: e.state, Consistency: cons,
		Now: func() time.Time { return testNow }})
	return e, h, cons
}

func healthEvents(e *env) []domain.AccountHealthChanged {
	var out []domain.AccountHealthChanged
	for _, ev := range e.log.since(0) {
		if p, ok := ev.Payload.(domain.AccountHealthChanged); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestReportAccountHealthAppendsOnlyOnChange(t *testing.T) {
	e, h, _ := newHealthEnv(t)
	ctx := context.Background()
	report := func(healthy bool, reason string) ReportAccountHealthResult {
		t.Helper()
		r, err := h.Handle(ctx, ReportAccountHealth{TeamID: teamA, AccountLinkID: accAPI, Healthy: healthy, Reason: reason, Origin: domain.OriginPoll})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	r := report(false, "Bluesky refused the app password")
	if !r.Changed || r.Position == "" {
		t.Fatalf("first refusal = %+v, want a change", r)
	}
	evs := e.log.since(0)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Key != teamA || ev.TeamID != teamA || ev.Actor != domain.ActorSystem || ev.Origin != domain.OriginPoll ||
		ev.Type() != domain.TypeAccountHealthChanged || !domain.HasPrefix(ev.ID, domain.PrefixEvent) {
		t.Fatalf("event envelope = %+v", ev)
	}
	if p := ev.Payload.(domain.AccountHealthChanged); p.AccountLinkID != accAPI || p.Healthy || p.Reason != "Bluesky refused the app password" {
		t.Fatalf("payload = %+v", p)
	}
	if l := e.state.links[accAPI]; l.Active || l.Healthy {
		t.Fatalf("link after the projection = %+v, want inactive", l)
	}

	// The poller hits the same refusal again and again: nothing more is appended.
	for range 3 {
		if r := report(false, "Bluesky refused the app password"); r.Changed {
			t.Fatalf("a repeated refusal changed the link: %+v", r)
		}
	}
	if n := e.log.len(); n != 1 {
		t.Fatalf("%d events after repeats, want 1", n)
	}
	// Another reason is another state; healthy again clears the reason.
	if r := report(false, "Bluesky suspended the account"); !r.Changed {
		t.Fatal("a new reason was not recorded")
	}
	if r := report(true, "ignored when healthy"); !r.Changed {
		t.Fatal("recovery was not recorded")
	}
	if r := report(true, ""); r.Changed {
		t.Fatal("a repeated recovery was recorded")
	}
	got := healthEvents(e)
	if len(got) != 3 || got[2].Reason != "" || !got[2].Healthy {
		t.Fatalf("health events = %+v", got)
	}
}

// The same transition after a relink is a new fact, with a new (still deterministic) id.
func TestReportAccountHealthSameFailureAfterRelink(t *testing.T) {
	e, h, _ := newHealthEnv(t)
	ctx := context.Background()
	c := ReportAccountHealth{TeamID: teamA, AccountLinkID: accAPI, Reason: "Reddit refused the refresh token (invalid_grant)"}
	if r, err := h.Handle(ctx, c); err != nil || !r.Changed {
		t.Fatalf("first = %+v, %v", r, err)
	}
	n := 0
	relink := func() {
		n++
		e.log.history(domain.Event{ID: "evt_relinked_" + strconv.Itoa(n), TeamID: teamA, Key: teamA, OccurredAt: testNow, RecordedAt: testNow,
			Actor: domain.ActorMember(ownerA), Origin: domain.OriginAPI,
			Payload: domain.AccountLinked{AccountLinkID: accAPI, Platform: domain.PlatformAPI, PlatformID: "crm-1"}})
		l := e.state.links[accAPI]
		l.Active, l.Healthy, l.HealthReason = true, true, "" // account.linked, as projected
		e.state.links[accAPI] = l
	}
	relink()
	r, err := h.Handle(ctx, c)
	if err != nil || !r.Changed {
		t.Fatalf("after a relink = %+v, %v; want a change", r, err)
	}
	relink()
	if r, err := h.Handle(ctx, c); err != nil || !r.Changed {
		t.Fatalf("after a second relink = %+v, %v; want a change", r, err)
	}
	evs := e.log.since(0)
	if len(evs) != 3 || evs[0].ID == evs[1].ID || evs[1].ID == evs[2].ID {
		t.Fatalf("events = %+v, want 3 with distinct ids", evs)
	}
	if l := e.state.links[accAPI]; l.Active {
		t.Fatal("link active after the third refusal")
	}

}

// Two reporters (two processes) decide on the same version of the team; the first appends, the
// second's append is refused as stale, it catches up and finds nothing left to change: one event.
func TestReportAccountHealthRacingReporters(t *testing.T) {
	e, h, _ := newHealthEnv(t)
	ctx := context.Background()
	other := NewReportAccountHealthHandler(Deps{Keys: testKeys, Log: e.log, State: e.state, Now: func() time.Time { return testNow }})
	c := ReportAccountHealth{TeamID: teamA, AccountLinkID: accAPI2, Reason: "token expired"}
	// Both load the team first, at the same version.
	if _, err := h.Handle(ctx, ReportAccountHealth{TeamID: teamA, AccountLinkID: accAPI2, Healthy: true}); err != nil {
		t.Fatal(err)
	}
	var first ReportAccountHealthResult
	raced := false
	e.log.beforeAppend = func() {
		if raced {
			return
		}
		raced = true
		var err error
		if first, err = other.Handle(ctx, c); err != nil {
			t.Error(err)
		}
	}
	r, err := h.Handle(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Changed || r.Changed {
		t.Fatalf("first reporter = %+v, second = %+v: want one change", first, r)
	}
	if n := e.log.len(); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
}

func TestReportAccountHealthRefusals(t *testing.T) {
	e, h, _ := newHealthEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		cmd  ReportAccountHealth
		kind domain.ErrorKind
	}{
		{"no team", ReportAccountHealth{AccountLinkID: accAPI}, domain.KindInvalid},
		{"malformed link id", ReportAccountHealth{TeamID: teamA, AccountLinkID: "nope"}, domain.KindInvalid},
		{"unknown link", ReportAccountHealth{TeamID: teamA, AccountLinkID: accUnknown}, domain.KindNotFound},
		{"another team's link", ReportAccountHealth{TeamID: teamA, AccountLinkID: accB}, domain.KindNotFound},
	} {
		_, err := h.Handle(ctx, c.cmd)
		if err == nil || domain.KindOf(err) != c.kind {
			t.Errorf("%s: err = %v, want kind %v", c.name, err, c.kind)
		}
	}
	// An unlinked link has no health to report.
	if r, err := h.Handle(ctx, ReportAccountHealth{TeamID: teamA, AccountLinkID: accUnlinked, Reason: "x"}); err != nil || r.Changed {
		t.Fatalf("unlinked = %+v, %v", r, err)
	}
	if n := e.log.len(); n != 0 {
		t.Fatalf("%d events appended by refused reports", n)
	}
	e.log.err = domain.Unavailable("the event log", nil)
	if _, err := h.Handle(ctx, ReportAccountHealth{TeamID: teamA, AccountLinkID: accAPI, Reason: "x"}); domain.KindOf(err) != domain.KindUnavailable {
		t.Fatalf("log down: err = %v, want Unavailable", err)
	}
}

func TestReportAccountHealthReasonIsSafe(t *testing.T) {
	e, h, _ := newHealthEnv(t)
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWQ6cGxjOmFiYyJ9.c2lnbmF0dXJlMTIzNDU2Nzg5MA"
	_, err := h.Handle(context.Background(), ReportAccountHealth{TeamID: teamA, AccountLinkID: accAPI,
		Reason: "refused\nBearer " + jwt + "\x00 " + strings.Repeat("long ", 100)})
	if err != nil {
		t.Fatal(err)
	}
	got := healthEvents(e)
	if len(got) != 1 {
		t.Fatalf("events = %+v", got)
	}
	r := got[0].Reason
	if strings.Contains(r, jwt[:20]) || strings.ContainsAny(r, "\n\x00") || len([]rune(r)) > MaxHealthReason {
		t.Fatalf("reason not safe: %q", r)
	}
	if !strings.HasPrefix(r, "refused Bearer [redacted] long") {
		t.Fatalf("reason = %q", r)
	}
	for in, want := range map[string]string{
		"":                                    "",
		"Invalid identifier or password":      "Invalid identifier or password",
		"did:plc:ec72yg6n2sydzjvtovvdlxrk ok": "did:plc:ec72yg6n2sydzjvtovvdlxrk ok",
		"key sk_live_0123456789abcdefghijklmnopqrstuv": "key [redacted]",
	} {
		if got := SafeHealthReason(in); got != want {
			t.Errorf("SafeHealthReason(%q) = %q, want %q", in, got, want)
		}
	}
	// An empty reason for a refusal still says something.
	e2, h2, _ := newHealthEnv(t)
	if _, err := h2.Handle(context.Background(), ReportAccountHealth{TeamID: teamA, AccountLinkID: accAPI}); err != nil {
		t.Fatal(err)
	}
	if got := healthEvents(e2); len(got) != 1 || got[0].Reason == "" {
		t.Fatalf("events = %+v, want a default reason", got)
	}
}
