// Package readmodeltest is the conformance suite of the read model: every projections.Store
// adapter runs it unchanged. It drives a store only as the application does, through the
// projection rules (projections.Apply, projections.Projector) inside Store.Update, and checks
// what the Reader answers.
package readmodeltest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// Run runs every case against stores made by open. open must return a new, empty store each
// time and close it when the test ends (t.Cleanup). Cases run in parallel, each on its own
// store and with its own team ids. A store must not enforce foreign keys: events of other
// keys arrive in any order, so a row may name a tag or prospect that does not exist (yet).
func Run(t *testing.T, open func(t *testing.T) projections.Store) {
	cases := []struct {
		name string
		run  func(t *testing.T, s projections.Store)
	}{
		{"ReceivedCreatesProspectAndThread", testReceivedCreatesProspectAndThread},
		{"OutboundFirstIsNotARequest", testOutboundFirstIsNotARequest},
		{"SecondLinkIsNotARequest", testSecondLinkIsNotARequest},
		{"BackfillKeepsLastMessage", testBackfillKeepsLastMessage},
		{"SameMessageTwice", testSameMessageTwice},
		{"ProjectorRedelivery", testProjectorRedelivery},
		{"UpdateIsAtomic", testUpdateIsAtomic},
		{"Views", testViews},
		{"RequestLeavesRequests", testRequestLeavesRequests},
		{"DoneThreadReopens", testDoneThreadReopens},
		{"Filters", testFilters},
		{"DeletedTag", testDeletedTag},
		{"TagFilterFollowsThreads", testTagFilterFollowsThreads},
		{"PagingTaggedThreads", testPagingTaggedThreads},
		{"PagingThreads", testPagingThreads},
		{"PagingMessages", testPagingMessages},
		{"PagingProspects", testPagingProspects},
		{"ReadAndAssign", testReadAndAssign},
		{"EditAndDelete", testEditAndDelete},
		{"SendStatuses", testSendStatuses},
		{"AccountLinks", testAccountLinks},
		{"ActiveAccountLinks", testActiveAccountLinks},
		{"ProspectContextAndProfile", testProspectContextAndProfile},
		{"TeamConfiguration", testTeamConfiguration},
		{"APIKeys", testAPIKeys},
		{"TenantIsolation", testTenantIsolation},
		{"ResetAndReplay", testResetAndReplay},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, open(t))
		})
		// The same case with the events as the write model appends them today: each carries
		// the decision of its prospect's aggregate. The views must be the same, so projections
		// apply decisions and decide nothing of their own.
		t.Run(c.name+"/decided", func(t *testing.T) {
			t.Parallel()
			c.run(t, deciding{open(t)})
		})
	}
}

// deciding marks a store whose fixture decides every event through domain.Prospect before
// applying it, as the write model does.
type deciding struct{ projections.Store }

// fx is one team in a store.
type fx struct {
	t    *testing.T
	s    projections.Store
	ctx  context.Context
	team string
	// With a deciding store: the aggregates that decide each prospect's events, and the
	// decided form of every event seen (a redelivery is the same event).
	aggregates map[string]*domain.Prospect
	decided    map[string]domain.Event
}

func newFx(t *testing.T, s projections.Store) *fx {
	f := &fx{t: t, s: s, ctx: context.Background(), team: domain.NewID(domain.PrefixTeam)}
	if d, ok := s.(deciding); ok {
		f.s, f.aggregates, f.decided = d.Store, map[string]*domain.Prospect{}, map[string]domain.Event{}
	}
	return f
}

// decide gives each event of a prospect the decision its aggregate makes, in a deciding fixture.
func (f *fx) decide(events []domain.Event) []domain.Event {
	if f.aggregates == nil {
		return events
	}
	out := make([]domain.Event, len(events))
	for i, e := range events {
		if d, ok := f.decided[e.ID]; ok {
			out[i] = d
			continue
		}
		if e.Key != e.TeamID {
			k := e.TeamID + "/" + e.Key
			p := f.aggregates[k]
			if p == nil {
				p = domain.NewProspect(e.Key)
				f.aggregates[k] = p
			}
			e = p.WithDecision(e)
			p.Apply(e)
		}
		f.decided[e.ID], out[i] = e, e
	}
	return out
}

// apply applies events, in order, in one store transaction.
func (f *fx) apply(events ...domain.Event) {
	f.t.Helper()
	events = f.decide(events)
	err := f.s.Update(f.ctx, func(tx projections.Tx) error {
		for _, e := range events {
			if err := projections.Apply(tx, e); err != nil {
				return fmt.Errorf("apply %s: %w", e.Type(), err)
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatalf("Update: %v", err)
	}
}

// link links a new account of the team.
func (f *fx) link(p domain.Platform, platformID string, when time.Time) link {
	f.t.Helper()
	l := newLink(f.team, p, platformID)
	f.apply(linked(l, when))
	return l
}

func (f *fx) thread(id string) projections.Thread {
	f.t.Helper()
	th, err := f.s.Thread(f.ctx, f.team, id)
	if err != nil {
		f.t.Fatalf("Thread(%s): %v", id, err)
	}
	return th
}

func (f *fx) prospect(id string) projections.Prospect {
	f.t.Helper()
	p, err := f.s.Prospect(f.ctx, f.team, id)
	if err != nil {
		f.t.Fatalf("Prospect(%s): %v", id, err)
	}
	return p
}

func (f *fx) message(id string) projections.Message {
	f.t.Helper()
	m, err := f.s.Message(f.ctx, f.team, id)
	if err != nil {
		f.t.Fatalf("Message(%s): %v", id, err)
	}
	return m
}

// threads lists the team's threads matching q (a whole page of 100 unless q says).
func (f *fx) threads(q projections.ThreadQuery) []projections.Thread {
	f.t.Helper()
	if q.TeamID == "" {
		q.TeamID = f.team
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	ts, err := f.s.Threads(f.ctx, q)
	if err != nil {
		f.t.Fatalf("Threads(%+v): %v", q, err)
	}
	return ts
}

// wantThreads checks the ids, in order, of the threads matching q.
func (f *fx) wantThreads(what string, q projections.ThreadQuery, want ...string) {
	f.t.Helper()
	got := threadIDs(f.threads(q))
	if !slices.Equal(got, want) {
		f.t.Errorf("%s: threads %v, want %v", what, got, want)
	}
}

func (f *fx) messages(threadID string) []projections.Message {
	f.t.Helper()
	ms, err := f.s.Messages(f.ctx, projections.MessageQuery{TeamID: f.team, ThreadID: threadID, Limit: 100})
	if err != nil {
		f.t.Fatalf("Messages(%s): %v", threadID, err)
	}
	return ms
}

func (f *fx) prospects(q projections.ProspectQuery) []projections.Prospect {
	f.t.Helper()
	if q.TeamID == "" {
		q.TeamID = f.team
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	ps, err := f.s.Prospects(f.ctx, q)
	if err != nil {
		f.t.Fatalf("Prospects(%+v): %v", q, err)
	}
	return ps
}

func threadIDs(ts []projections.Thread) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func messageIDs(ms []projections.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func prospectIDs(ps []projections.Prospect) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func tagIDs(ts []projections.Tag) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// eq checks one field a user would look at.
func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func eqTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func eqIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// notFound checks that a read answered ErrNotFound.
func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, projections.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

// sortedDesc checks keys are in (At desc, ID desc) order, strictly.
func sortedDesc(t *testing.T, what string, keys []projections.SortKey) {
	t.Helper()
	for i := 1; i < len(keys); i++ {
		a, b := keys[i-1], keys[i]
		if a.At.Before(b.At) || (a.At.Equal(b.At) && a.ID <= b.ID) {
			t.Errorf("%s: row %d (%v, %s) is not after row %d (%v, %s) in (time desc, id desc) order",
				what, i, b.At, b.ID, i-1, a.At, a.ID)
		}
	}
}
