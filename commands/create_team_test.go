package commands

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

func TestCreateTeam(t *testing.T) {
	cases := []struct {
		name      string
		actor     Actor
		cmd       CreateTeam
		wantEmail string // "" for the default one
		kind      domain.ErrorKind
		text      string
	}{
		{name: "with an owner email", actor: instanceAdmin, cmd: CreateTeam{Name: " Acme ", OwnerEmail: "Boss@Acme.example", OwnerName: "Boss"},
			wantEmail: "boss@acme.example"},
		{name: "without an owner email", actor: instanceAdmin, cmd: CreateTeam{Name: "Acme"}},
		{name: "by an owner that is not the instance admin", actor: owner, cmd: CreateTeam{Name: "Acme"},
			kind: domain.KindPermissionDenied, text: "instance admin"},
		{name: "by an agent", actor: agent, cmd: CreateTeam{Name: "Acme"}, kind: domain.KindPermissionDenied, text: "instance admin"},
		{name: "missing name", actor: instanceAdmin, cmd: CreateTeam{Name: " "}, kind: domain.KindInvalid, text: "name"},
		{name: "long name", actor: instanceAdmin, cmd: CreateTeam{Name: strings.Repeat("a", 101)}, kind: domain.KindInvalid, text: "name"},
		{name: "bad owner email", actor: instanceAdmin, cmd: CreateTeam{Name: "Acme", OwnerEmail: "boss"}, kind: domain.KindInvalid, text: "owner_email"},
		{name: "long owner name", actor: instanceAdmin, cmd: CreateTeam{Name: "Acme", OwnerName: strings.Repeat("b", 201)},
			kind: domain.KindInvalid, text: "owner_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r, err := e.app.CreateTeam.Handle(context.Background(), c.actor, c.cmd)
			if c.text != "" {
				assertFails(t, err, c.kind, c.text)
				if e.log.len() != 0 {
					t.Errorf("a failed command appended: %v", e.log.since(0))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !domain.HasPrefix(r.TeamID, domain.PrefixTeam) || !domain.HasPrefix(r.OwnerMemberID, domain.PrefixMember) || r.OwnerKey == "" {
				t.Fatalf("result = %+v", r)
			}
			if r.TeamID == c.actor.TeamID {
				t.Fatal("the new team has the creator's team id")
			}
			ev := e.log.since(0)
			if len(ev) != 3 {
				t.Fatalf("appended %d events, want team, member, key", len(ev))
			}
			email := c.wantEmail
			if email == "" {
				email = ev[1].Payload.(domain.MemberAdded).Email
				if _, err := domain.Email("email", email); err != nil {
					t.Errorf("default owner email %q is not an email: %v", email, err)
				}
			}
			keyID := ev[2].Payload.(domain.APIKeyCreated).KeyID
			want := []domain.Payload{
				domain.TeamCreated{TeamID: r.TeamID, Name: strings.TrimSpace(c.cmd.Name)},
				domain.MemberAdded{MemberID: r.OwnerMemberID, Email: email, Name: c.cmd.OwnerName, Role: "owner"},
				domain.APIKeyCreated{KeyID: keyID, MemberID: r.OwnerMemberID, KeyHash: testKeys.Hash(r.OwnerKey), Prefix: KeyPrefix(r.OwnerKey)},
			}
			for i, ev := range ev {
				if !reflect.DeepEqual(ev.Payload, want[i]) {
					t.Errorf("event %d payload = %#v, want %#v", i, ev.Payload, want[i])
				}
				// The new team's facts belong to the new team and are ordered by it.
				if ev.TeamID != r.TeamID || ev.Key != r.TeamID {
					t.Errorf("event %d has team %q key %q, want the new team %q", i, ev.TeamID, ev.Key, r.TeamID)
				}
				if ev.Actor != "member:"+c.actor.MemberID || ev.Origin != domain.OriginAPI {
					t.Errorf("event %d actor %q origin %q", i, ev.Actor, ev.Origin)
				}
				if strings.Contains(fmt.Sprintf("%#v", ev), r.OwnerKey) {
					t.Errorf("event %d holds the owner key", i)
				}
			}
			if !domain.HasPrefix(keyID, domain.PrefixKey) {
				t.Errorf("key id %q", keyID)
			}
			if r.Position != position(2) {
				t.Errorf("position %q, want the last event's %q", r.Position, position(2))
			}
		})
	}
}

func TestBootstrap(t *testing.T) {
	const key = "sb_bootstrap-key-for-tests-0123456789"
	t.Run("no key yet: creates the default team, its owner and the instance admin key", func(t *testing.T) {
		e := newEnv(t)
		e.state.apiKeys = 0
		r, err := e.app.Bootstrap.Handle(context.Background(), Bootstrap{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Created || r.TeamID != DefaultTeamID || !domain.HasPrefix(r.OwnerID, domain.PrefixMember) {
			t.Fatalf("result = %+v", r)
		}
		ev := e.log.since(0)
		if len(ev) != 3 {
			t.Fatalf("appended %d events, want 3", len(ev))
		}
		keyID := ev[2].Payload.(domain.APIKeyCreated).KeyID
		want := []domain.Payload{
			domain.TeamCreated{TeamID: DefaultTeamID, Name: "default"},
			domain.MemberAdded{MemberID: r.OwnerID, Email: "owner@default.invalid", Name: "Owner", Role: "owner"},
			domain.APIKeyCreated{KeyID: keyID, MemberID: r.OwnerID, KeyHash: testKeys.Hash(key), InstanceAdmin: true, Prefix: KeyPrefix(key)},
		}
		for i, ev := range ev {
			if !reflect.DeepEqual(ev.Payload, want[i]) {
				t.Errorf("event %d payload = %#v, want %#v", i, ev.Payload, want[i])
			}
			if ev.TeamID != DefaultTeamID || ev.Key != DefaultTeamID {
				t.Errorf("event %d team %q key %q", i, ev.TeamID, ev.Key)
			}
			if ev.Actor != domain.ActorSystem || ev.Origin != domain.OriginSystem {
				t.Errorf("event %d actor %q origin %q, want system/system", i, ev.Actor, ev.Origin)
			}
			if strings.Contains(fmt.Sprintf("%#v", ev), key) {
				t.Errorf("event %d holds the key itself", i)
			}
		}
	})

	t.Run("a key exists: does nothing", func(t *testing.T) {
		e := newEnv(t)
		e.state.apiKeys = 1
		r, err := e.app.Bootstrap.Handle(context.Background(), Bootstrap{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if r.Created || e.log.len() != 0 {
			t.Errorf("result %+v, appended %d", r, e.log.len())
		}
	})

	t.Run("repeated after a crash before the read model caught up: appends nothing new", func(t *testing.T) {
		e := newEnv(t)
		e.state.apiKeys = 0 // the read model never saw the first run's events
		first, err := e.app.Bootstrap.Handle(context.Background(), Bootstrap{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		n := e.log.len()
		again, err := NewApp(Deps{Log: e.log, State: e.state, Keys: testKeys}).Bootstrap.Handle(context.Background(), Bootstrap{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if e.log.len() != n {
			t.Errorf("the second run appended %d more events", e.log.len()-n)
		}
		if again != first {
			t.Errorf("the second run says %+v, the first %+v", again, first)
		}
	})

	t.Run("short key", func(t *testing.T) {
		e := newEnv(t)
		e.state.apiKeys = 0
		_, err := e.app.Bootstrap.Handle(context.Background(), Bootstrap{Key: "short"})
		assertFails(t, err, domain.KindInvalid, "SWITCHBOARD_BOOTSTRAP_KEY")
		if e.log.len() != 0 {
			t.Error("appended after a refused key")
		}
	})
}
