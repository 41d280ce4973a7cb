package commands

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

type keyed func(ctx context.Context, app App, a Actor, key string) (any, error)

// idempotentCommands: each command that takes an idempotency key, once as issued and once with
// other parameters (which may not reuse the key).
var idempotentCommands = []struct {
	name        string
	actor       Actor
	run, differ keyed
}{
	{"AssignThread", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.AssignThread.Handle(ctx, a, AssignThread{ThreadID: thrOpen, MemberID: agentA, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.AssignThread.Handle(ctx, a, AssignThread{ThreadID: thrOpen, MemberID: agent2A, IdempotencyKey: k})
		}},
	{"UnassignThread", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.UnassignThread.Handle(ctx, a, UnassignThread{ThreadID: thrAssigned, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.UnassignThread.Handle(ctx, a, UnassignThread{ThreadID: thrDone, IdempotencyKey: k})
		}},
	{"MarkThreadDone", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.MarkThreadDone.Handle(ctx, a, MarkThreadDone{ThreadID: thrOpen, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.MarkThreadDone.Handle(ctx, a, MarkThreadDone{ThreadID: thrAssigned, IdempotencyKey: k})
		}},
	{"ReopenThread", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.ReopenThread.Handle(ctx, a, ReopenThread{ThreadID: thrDone, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.ReopenThread.Handle(ctx, a, ReopenThread{ThreadID: thrOpen, IdempotencyKey: k})
		}},
	{"MarkThreadRead", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.MarkThreadRead.Handle(ctx, a, MarkThreadRead{ThreadID: thrOpen, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.MarkThreadRead.Handle(ctx, a, MarkThreadRead{ThreadID: thrDone, IdempotencyKey: k})
		}},
	{"TagProspect", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.TagProspect.Handle(ctx, a, TagProspect{ProspectID: prsPlain, TagID: tagVIP, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.TagProspect.Handle(ctx, a, TagProspect{ProspectID: prsPlain, TagID: tagLead, IdempotencyKey: k})
		}},
	{"UntagProspect", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.UntagProspect.Handle(ctx, a, UntagProspect{ProspectID: prsTagged, TagID: tagVIP, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.UntagProspect.Handle(ctx, a, UntagProspect{ProspectID: prsPlain, TagID: tagVIP, IdempotencyKey: k})
		}},
	{"SetProspectStatus", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.SetProspectStatus.Handle(ctx, a, SetProspectStatus{ProspectID: prsPlain, StatusID: stsNew, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.SetProspectStatus.Handle(ctx, a, SetProspectStatus{ProspectID: prsPlain, IdempotencyKey: k})
		}},
	{"UpdateProspectContext", agent,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.UpdateProspectContext.Handle(ctx, a, UpdateProspectContext{ProspectID: prsPlain, Notes: "n", Valuation: 10,
				CustomFields: map[string]string{"a": "1", "b": "2", "c": "3"}, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.UpdateProspectContext.Handle(ctx, a, UpdateProspectContext{ProspectID: prsPlain, Notes: "n", Valuation: 11,
				CustomFields: map[string]string{"a": "1", "b": "2", "c": "3"}, IdempotencyKey: k})
		}},
	{"CreateTag", admin,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.CreateTag.Handle(ctx, a, CreateTag{Name: "Hot", Color: "#ff0000", IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.CreateTag.Handle(ctx, a, CreateTag{Name: "Hot", Color: "#00ff00", IdempotencyKey: k})
		}},
	{"DeleteTag", admin,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.DeleteTag.Handle(ctx, a, DeleteTag{TagID: tagLead, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.DeleteTag.Handle(ctx, a, DeleteTag{TagID: tagVIP, IdempotencyKey: k})
		}},
	{"CreateStatus", admin,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.CreateStatus.Handle(ctx, a, CreateStatus{Name: "Won", Position: 2, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.CreateStatus.Handle(ctx, a, CreateStatus{Name: "Won", Position: 3, IdempotencyKey: k})
		}},
	{"AddMember", owner,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.AddMember.Handle(ctx, a, AddMember{Email: "nina@a.example", Name: "Nina", IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.AddMember.Handle(ctx, a, AddMember{Email: "nina@a.example", Name: "Nina", Role: "admin", IdempotencyKey: k})
		}},
	{"LinkAccount", admin,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.LinkAccount.Handle(ctx, a, LinkAccount{Platform: domain.PlatformTelegram, PlatformID: "42", Username: "bot",
				Credentials: map[string]string{"bot_token": "42:secret"}, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.LinkAccount.Handle(ctx, a, LinkAccount{Platform: domain.PlatformTelegram, PlatformID: "42", Username: "renamed_bot",
				Credentials: map[string]string{"bot_token": "42:secret"}, IdempotencyKey: k})
		}},
	{"UnlinkAccount", admin,
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.UnlinkAccount.Handle(ctx, a, UnlinkAccount{AccountLinkID: accAPI, IdempotencyKey: k})
		},
		func(ctx context.Context, app App, a Actor, k string) (any, error) {
			return app.UnlinkAccount.Handle(ctx, a, UnlinkAccount{AccountLinkID: accAPI2, IdempotencyKey: k})
		}},
}

func TestIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	for _, c := range idempotentCommands {
		t.Run(c.name+": a retry is applied once and answers the same", func(t *testing.T) {
			e := newEnv(t)
			first, err := c.run(ctx, e.app, c.actor, "retry-1")
			if err != nil {
				t.Fatal(err)
			}
			again, err := c.run(ctx, e.app, c.actor, "retry-1")
			if err != nil {
				t.Fatalf("the retry failed: %v", err)
			}
			if e.log.len() != 1 {
				t.Errorf("the log holds %d events, want 1", e.log.len())
			}
			if !reflect.DeepEqual(first, again) {
				t.Errorf("the retry answered %+v, the first call %+v", again, first)
			}
			if r := resultOf(t, again); r.Position != position(0) {
				t.Errorf("the retry's position is %q, want %q", r.Position, position(0))
			}
		})
		t.Run(c.name+": the key with other parameters is refused", func(t *testing.T) {
			e := newEnv(t)
			if _, err := c.run(ctx, e.app, c.actor, "retry-1"); err != nil {
				t.Fatal(err)
			}
			_, err := c.differ(ctx, e.app, c.actor, "retry-1")
			assertFails(t, err, domain.KindInvalid, "idempotency_key")
			if e.log.len() != 1 {
				t.Errorf("the refused call appended: the log holds %d events", e.log.len())
			}
		})
		t.Run(c.name+": another key is another command", func(t *testing.T) {
			e := newEnv(t)
			if _, err := c.run(ctx, e.app, c.actor, "k-1"); err != nil {
				t.Fatal(err)
			}
			// The same command under another key is decided anew on the state the first left:
			// applied again, or refused by its rule, never answered with the first's outcome.
			_, err := c.run(ctx, e.app, c.actor, "k-2")
			switch k := domain.KindOf(err); {
			case err == nil && e.log.len() != 2:
				t.Errorf("the log holds %d events, want 2", e.log.len())
			case err != nil && k != domain.KindPrecondition && k != domain.KindAlreadyExists && k != domain.KindNotFound:
				t.Errorf("the second command failed with %v, want it applied or refused by its rule", err)
			case err != nil && e.log.len() != 1:
				t.Errorf("the refused second command appended: the log holds %d events", e.log.len())
			}
		})
	}
}

func TestIdempotencyKeyAcrossCommandsAndTeams(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.app.MarkThreadRead.Handle(ctx, agent, MarkThreadRead{ThreadID: thrOpen, IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	// The same key for another command of the same team: refused, nothing appended.
	_, err := e.app.MarkThreadDone.Handle(ctx, agent, MarkThreadDone{ThreadID: thrOpen, IdempotencyKey: "k"})
	assertFails(t, err, domain.KindInvalid, "idempotency_key")
	if e.log.len() != 1 {
		t.Fatalf("log holds %d events, want 1", e.log.len())
	}
	// Keys belong to a team: team B's "k" is its own.
	teamBOwner := Actor{TeamID: teamB, MemberID: memberB, Role: "owner"}
	r, err := e.app.MarkThreadRead.Handle(ctx, teamBOwner, MarkThreadRead{ThreadID: thrB, IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Duplicate || e.log.len() != 2 || e.log.since(1)[0].TeamID != teamB {
		t.Errorf("team B's command was not applied on its own: %+v, log %d", r, e.log.len())
	}
	// A too long key is bad input.
	_, err = e.app.MarkThreadRead.Handle(ctx, agent, MarkThreadRead{ThreadID: thrOpen, IdempotencyKey: strings.Repeat("k", 256)})
	assertFails(t, err, domain.KindInvalid, "idempotency_key")
	if e.log.len() != 2 {
		t.Errorf("a refused key appended")
	}
}

// A failed command is not remembered: once the cause is fixed, the same key applies.
func TestIdempotencyKeyOfAFailedCommandIsFree(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := AssignThread{ThreadID: thrOpen, MemberID: memUnknown, IdempotencyKey: "k"}
	_, err := e.app.AssignThread.Handle(ctx, agent, c)
	assertFails(t, err, domain.KindNotFound, memUnknown)
	e.log.history(domain.Event{ID: "evt_member_added_later", TeamID: teamA, Key: teamA, OccurredAt: testNow, RecordedAt: testNow,
		Actor: domain.ActorSystem, Origin: domain.OriginAPI, Payload: domain.MemberAdded{MemberID: memUnknown, Email: "late@a.example", Role: "agent"}})
	e.app = NewApp(Deps{Keys: testKeys, Log: e.log, State: e.state, Idempotency: e.idem, Now: func() time.Time { return testNow }})
	if _, err := e.app.AssignThread.Handle(ctx, agent, c); err != nil {
		t.Fatalf("the same key after the member was added: %v", err)
	}
	if e.log.len() != 1 {
		t.Errorf("log holds %d events, want 1", e.log.len())
	}
}

// When the outcome could not be remembered (a crash right after the append), the retry runs
// again; the event id derived from the key lets the log refuse the repeat, and the answer must
// still name what the first call created.
func TestIdempotencyKeyWhenTheOutcomeWasLost(t *testing.T) {
	ctx := context.Background()
	for _, c := range idempotentCommands {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.idem.putErr = errors.New("idempotency store down")
			first, err := c.run(ctx, e.app, c.actor, "lost-1")
			if err != nil {
				t.Fatal(err)
			}
			again, err := c.run(ctx, e.app, c.actor, "lost-1")
			if err != nil {
				t.Fatalf("the retry failed: %v", err)
			}
			if e.log.len() != 1 {
				t.Errorf("the log holds %d events, want 1", e.log.len())
			}
			r := resultOf(t, again)
			if !r.Duplicate || r.Position != resultOf(t, first).Position {
				t.Errorf("the retry answered %+v, want a duplicate at %q", r, resultOf(t, first).Position)
			}
			// Whatever the first call created, the retry names the same.
			r1, r2 := reflect.ValueOf(first), reflect.ValueOf(again)
			if _, plain := first.(Result); plain {
				return
			}
			for i := range r1.NumField() {
				if r1.Type().Field(i).Name == "Result" {
					continue
				}
				if a, b := r1.Field(i).Interface(), r2.Field(i).Interface(); a != b {
					t.Errorf("%s: the first call answered %v, the retry %v", r1.Type().Field(i).Name, a, b)
				}
			}
		})
	}
}
