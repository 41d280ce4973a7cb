package commands

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// The world every command test starts from: team A (the actor's) and team B (another tenant,
// whose ids must look unknown to team A).
var (
	teamA = domain.DeriveID(domain.PrefixTeam, "test", "A")
	teamB = domain.DeriveID(domain.PrefixTeam, "test", "B")

	ownerA  = domain.DeriveID(domain.PrefixMember, "owner A")
	adminA  = domain.DeriveID(domain.PrefixMember, "admin A")
	agentA  = domain.DeriveID(domain.PrefixMember, "agent A")
	agent2A = domain.DeriveID(domain.PrefixMember, "agent 2 A")
	memberB = domain.DeriveID(domain.PrefixMember, "member B")

	tagVIP  = domain.DeriveID(domain.PrefixTag, "VIP")
	tagLead = domain.DeriveID(domain.PrefixTag, "Lead")
	tagB    = domain.DeriveID(domain.PrefixTag, "B's tag")

	stsNew = domain.DeriveID(domain.PrefixStatus, "New")
	stsB   = domain.DeriveID(domain.PrefixStatus, "B's status")

	accAPI      = domain.AccountLinkID(teamA, domain.PlatformAPI, "crm-1")
	accAPI2     = domain.AccountLinkID(teamA, domain.PlatformAPI, "crm-2")
	accUnlinked = domain.AccountLinkID(teamA, domain.PlatformAPI, "old-crm")
	accB        = domain.AccountLinkID(teamB, domain.PlatformAPI, "crm-1")

	prsPlain  = domain.ProspectID(teamA, domain.PlatformAPI, "ana")
	prsTagged = domain.ProspectID(teamA, domain.PlatformAPI, "bo")
	prsB      = domain.ProspectID(teamB, domain.PlatformAPI, "ana")

	thrOpen     = domain.ThreadID(teamA, domain.PlatformAPI, accAPI, "ana")      // not done, unassigned
	thrAssigned = domain.ThreadID(teamA, domain.PlatformAPI, accAPI2, "ana")     // not done, assigned
	thrDone     = domain.ThreadID(teamA, domain.PlatformAPI, accAPI, "bo")       // done, assigned
	thrB        = domain.ThreadID(teamB, domain.PlatformAPI, accB, "ana")        // team B's
	thrUnknown  = domain.DeriveID(domain.PrefixThread, "nobody has this thread") // well formed, absent

	prsUnknown = domain.DeriveID(domain.PrefixProspect, "nobody")
	tagUnknown = domain.DeriveID(domain.PrefixTag, "nobody")
	stsUnknown = domain.DeriveID(domain.PrefixStatus, "nobody")
	memUnknown = domain.DeriveID(domain.PrefixMember, "nobody")
	accUnknown = domain.DeriveID(domain.PrefixAccount, "nobody")

	owner         = Actor{TeamID: teamA, MemberID: ownerA, Role: "owner"}
	admin         = Actor{TeamID: teamA, MemberID: adminA, Role: "admin"}
	agent         = Actor{TeamID: teamA, MemberID: agentA, Role: "agent"}
	instanceAdmin = Actor{TeamID: teamA, MemberID: ownerA, Role: "owner", InstanceAdmin: true}

	testNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

	testKeys = NewAPIKeyHasher([]byte("the test instance's secret, 32 b"))
)

type env struct {
	log   *fakeLog
	state *fakeState
	creds *fakeCredentials
	idem  *fakeIdempotency
	app   App
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := newFakeState()
	// The read model answers only what commands still ask it (a thread's prospect, counts); the
	// rules read the aggregates, rebuilt from worldHistory. The links are here for the health
	// tests, whose fake projector updates them.
	for _, l := range []projections.AccountLink{
		{ID: accAPI, TeamID: teamA, Platform: "api", PlatformID: "crm-1", Active: true, Healthy: true},
		{ID: accAPI2, TeamID: teamA, Platform: "api", PlatformID: "crm-2", Active: true, Healthy: true},
		{ID: accUnlinked, TeamID: teamA, Platform: "api", PlatformID: "old-crm", Unlinked: true},
		{ID: accB, TeamID: teamB, Platform: "api", PlatformID: "crm-1", Active: true, Healthy: true},
	} {
		s.links[l.ID] = l
	}
	for _, th := range []projections.Thread{
		{ID: thrOpen, TeamID: teamA, Platform: "api", AccountLinkID: accAPI, ProspectID: prsPlain},
		{ID: thrAssigned, TeamID: teamA, Platform: "api", AccountLinkID: accAPI2, ProspectID: prsPlain, AssigneeMemberID: agentA},
		{ID: thrDone, TeamID: teamA, Platform: "api", AccountLinkID: accAPI, ProspectID: prsTagged, AssigneeMemberID: agentA, Done: true},
		{ID: thrB, TeamID: teamB, Platform: "api", AccountLinkID: accB, ProspectID: prsB},
	} {
		s.threads[th.ID] = th
	}
	s.apiKeys = 3
	log := newFakeLog()
	log.history(worldHistory()...)
	e := &env{
		log:   log,
		state: s,
		creds: &fakeCredentials{stored: map[[2]string]map[string]string{}},
		idem:  &fakeIdempotency{records: map[[2]string]IdempotencyRecord{}},
	}
	e.app = NewApp(Deps{Keys: testKeys, Log: e.log, State: e.state, Credentials: e.creds, Idempotency: e.idem,
		Now: func() time.Time { return testNow }})
	return e
}

// worldHistory is the log behind the same world: the events the aggregates are rebuilt from.
func worldHistory() []domain.Event {
	n := 0
	ev := func(team, key string, p domain.Payload) domain.Event {
		n++
		return domain.Event{ID: domain.DeriveID(domain.PrefixEvent, "history", strconv.Itoa(n)), TeamID: team, Key: key,
			OccurredAt: testNow.Add(-time.Hour), RecordedAt: testNow.Add(-time.Hour), Actor: domain.ActorSystem, Origin: domain.OriginSystem, Payload: p}
	}
	msg := func(team, link, prospect, thread, who string) domain.Event {
		return ev(team, prospect, domain.MessageReceived{MessageID: domain.DeriveID(domain.PrefixMessage, thread), ThreadID: thread,
			ProspectID: prospect, AccountLinkID: link, Platform: domain.PlatformAPI, PlatformMessageID: "m-" + thread,
			PlatformConversationID: who, Direction: domain.Inbound, Prospect: domain.Participant{PlatformID: who}, Text: "hello"})
	}
	return []domain.Event{
		ev(teamA, teamA, domain.TeamCreated{TeamID: teamA, Name: "A"}),
		ev(teamA, teamA, domain.MemberAdded{MemberID: ownerA, Email: "owner@a.example", Name: "Olga", Role: "owner"}),
		ev(teamA, teamA, domain.MemberAdded{MemberID: adminA, Email: "admin@a.example", Name: "Adam", Role: "admin"}),
		ev(teamA, teamA, domain.MemberAdded{MemberID: agentA, Email: "agent@a.example", Name: "Aga", Role: "agent"}),
		ev(teamA, teamA, domain.MemberAdded{MemberID: agent2A, Email: "agent2@a.example", Name: "Agi", Role: "agent"}),
		ev(teamA, teamA, domain.TagCreated{TagID: tagVIP, Name: "VIP", Color: "#ff0000"}),
		ev(teamA, teamA, domain.TagCreated{TagID: tagLead, Name: "Lead"}),
		ev(teamA, teamA, domain.StatusCreated{StatusID: stsNew, Name: "New"}),
		ev(teamA, teamA, domain.AccountLinked{AccountLinkID: accAPI, Platform: domain.PlatformAPI, PlatformID: "crm-1"}),
		ev(teamA, teamA, domain.AccountLinked{AccountLinkID: accAPI2, Platform: domain.PlatformAPI, PlatformID: "crm-2"}),
		ev(teamA, teamA, domain.AccountLinked{AccountLinkID: accUnlinked, Platform: domain.PlatformAPI, PlatformID: "old-crm"}),
		ev(teamA, teamA, domain.AccountUnlinked{AccountLinkID: accUnlinked}),
		msg(teamA, accAPI, prsPlain, thrOpen, "ana"),
		msg(teamA, accAPI2, prsPlain, thrAssigned, "ana"),
		ev(teamA, prsPlain, domain.ThreadAssigned{ThreadID: thrAssigned, ProspectID: prsPlain, MemberID: agentA}),
		msg(teamA, accAPI, prsTagged, thrDone, "bo"),
		ev(teamA, prsTagged, domain.ThreadAssigned{ThreadID: thrDone, ProspectID: prsTagged, MemberID: agentA}),
		ev(teamA, prsTagged, domain.ThreadDone{ThreadID: thrDone, ProspectID: prsTagged}),
		ev(teamA, prsTagged, domain.ProspectTagged{ProspectID: prsTagged, TagID: tagVIP}),

		ev(teamB, teamB, domain.TeamCreated{TeamID: teamB, Name: "B"}),
		ev(teamB, teamB, domain.MemberAdded{MemberID: memberB, Email: "b@b.example", Name: "Bea", Role: "owner"}),
		ev(teamB, teamB, domain.TagCreated{TagID: tagB, Name: "Other"}),
		ev(teamB, teamB, domain.StatusCreated{StatusID: stsB, Name: "Closed"}),
		ev(teamB, teamB, domain.AccountLinked{AccountLinkID: accB, Platform: domain.PlatformAPI, PlatformID: "crm-1"}),
		msg(teamB, accB, prsB, thrB, "ana"),
	}
}

// wantEvent is an event a command must append: its ordering key and its exact payload.
type wantEvent struct {
	key     string
	payload domain.Payload
}

// commandCase is one call of a command and what it must do: either append exactly want(result)
// (in order) or fail with kind, naming text, appending nothing.
type commandCase struct {
	name  string
	actor Actor
	run   func(ctx context.Context, app App, a Actor) (any, error)
	want  func(res any) []wantEvent
	check func(t *testing.T, res any) // more checks of a successful result
	kind  domain.ErrorKind
	text  string
}

func runCommandCases(t *testing.T, cases []commandCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			a := c.actor
			if a.TeamID == "" {
				a = agent
			}
			before := e.log.len()
			res, err := c.run(context.Background(), e.app, a)
			if c.want == nil {
				assertFails(t, err, c.kind, c.text)
				if n := e.log.len(); n != before {
					t.Errorf("a failed command appended %d events: %v", n-before, e.log.since(before))
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			want := c.want(res)
			got := e.log.since(before)
			if len(got) != len(want) {
				t.Fatalf("appended %d events, want %d: %+v", len(got), len(want), got)
			}
			for i, w := range want {
				assertEvent(t, got[i], a, w)
			}
			r := resultOf(t, res)
			if want, got := position(e.log.len()-1), r.Position; got != want {
				t.Errorf("result position = %q, want %q (the last appended event's)", got, want)
			}
			if r.Duplicate {
				t.Error("result says duplicate for a first append")
			}
			if c.check != nil {
				c.check(t, res)
			}
		})
	}
}

// assertFails checks the error's kind and that its client text names what was wrong.
func assertFails(t *testing.T, err error, kind domain.ErrorKind, text string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error of kind %v naming %q, got nil", kind, text)
	}
	if got := domain.KindOf(err); got != kind {
		t.Errorf("error %q has kind %v, want %v", err, got, kind)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("error %q does not name %q", err, text)
	}
}

// assertEvent checks an appended event's envelope and payload as issued by actor a.
func assertEvent(t *testing.T, got domain.Event, a Actor, w wantEvent) {
	t.Helper()
	if got.Type() != w.payload.EventType() {
		t.Errorf("event type = %q, want %q", got.Type(), w.payload.EventType())
	}
	if !reflect.DeepEqual(got.Payload, w.payload) {
		t.Errorf("payload =\n  %#v\nwant\n  %#v", got.Payload, w.payload)
	}
	if got.TeamID != a.TeamID {
		t.Errorf("team = %q, want %q", got.TeamID, a.TeamID)
	}
	if got.Key != w.key {
		t.Errorf("key = %q, want %q", got.Key, w.key)
	}
	if want := "member:" + a.MemberID; got.Actor != want {
		t.Errorf("actor = %q, want %q", got.Actor, want)
	}
	if got.Origin != domain.OriginAPI {
		t.Errorf("origin = %q, want api", got.Origin)
	}
	if !domain.HasPrefix(got.ID, domain.PrefixEvent) {
		t.Errorf("event id %q is not an evt_ id", got.ID)
	}
	if !got.RecordedAt.Equal(testNow) {
		t.Errorf("recorded at %v, want the clock's %v", got.RecordedAt, testNow)
	}
}

// resultOf extracts the Result every command returns.
func resultOf(t *testing.T, res any) Result {
	t.Helper()
	switch r := res.(type) {
	case Result:
		return r
	case TagResult:
		return r.Result
	case StatusResult:
		return r.Result
	case MemberResult:
		return r.Result
	case APIKeyResult:
		return r.Result
	case TeamResult:
		return r.Result
	case AccountLinkResult:
		return r.Result
	case IngestResult:
		return r.Result
	}
	t.Fatalf("unknown result type %T", res)
	return Result{}
}

// events lists wanted events that do not depend on the result.
func events(w ...wantEvent) func(any) []wantEvent {
	return func(any) []wantEvent { return w }
}
