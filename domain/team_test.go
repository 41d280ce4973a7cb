package domain

import (
	"reflect"
	"testing"
	"time"
)

func teamEvent(p Payload) Event {
	return Event{ID: NewID(PrefixEvent), TeamID: "team_a", Key: "team_a", OccurredAt: time.Unix(1, 0), RecordedAt: time.Unix(1, 0), Payload: p}
}

// aTeam is a team with an owner, an admin, an agent, a tag, a status, an active link and an
// unlinked one.
func aTeam() *Team {
	t := NewTeam("team_a")
	for _, p := range []Payload{
		TeamCreated{TeamID: "team_a", Name: "A"},
		MemberAdded{MemberID: "mem_owner", Email: "o@a.example", Role: "owner"},
		MemberAdded{MemberID: "mem_admin", Email: "ad@a.example", Role: "admin"},
		MemberAdded{MemberID: "mem_agent", Email: "ag@a.example", Role: "agent"},
		TagCreated{TagID: "tag_vip", Name: "VIP"},
		StatusCreated{StatusID: "sts_new", Name: "New"},
		AccountLinked{AccountLinkID: "acc_1", Platform: PlatformAPI, PlatformID: "crm"},
		AccountLinked{AccountLinkID: "acc_old", Platform: PlatformAPI, PlatformID: "old"},
		AccountUnlinked{AccountLinkID: "acc_old"},
		APIKeyCreated{KeyID: "key_owner", MemberID: "mem_owner", KeyHash: "h-owner", InstanceAdmin: true},
		APIKeyCreated{KeyID: "key_admin", MemberID: "mem_admin", KeyHash: "h-admin"},
		APIKeyCreated{KeyID: "key_agent", MemberID: "mem_agent", KeyHash: "h-agent"},
	} {
		t.Apply(teamEvent(p))
	}
	return t
}

func TestTeamRules(t *testing.T) {
	cases := []struct {
		name string
		run  func(*Team) error
		kind ErrorKind // KindInternal: no error
	}{
		{"a new tag", func(t *Team) error { _, err := t.CreateTag("tag_2", "Lead", ""); return err }, KindInternal},
		{"a tag name taken, in another case", func(t *Team) error { _, err := t.CreateTag("tag_2", "vip", ""); return err }, KindAlreadyExists},
		{"delete a tag", func(t *Team) error { _, err := t.DeleteTag("tag_vip"); return err }, KindInternal},
		{"delete an unknown tag", func(t *Team) error { _, err := t.DeleteTag("tag_x"); return err }, KindNotFound},
		{"a new status", func(t *Team) error { _, err := t.CreateStatus("sts_2", "Won", 2); return err }, KindInternal},
		{"a status name taken", func(t *Team) error { _, err := t.CreateStatus("sts_2", "NEW", 2); return err }, KindAlreadyExists},
		{"an owner adds an owner", func(t *Team) error {
			_, err := t.AddMember(RoleOwner, "mem_2", "n@a.example", "", RoleOwner)
			return err
		}, KindInternal},
		{"an admin adds an agent", func(t *Team) error {
			_, err := t.AddMember(RoleAdmin, "mem_2", "n@a.example", "", RoleAgent)
			return err
		}, KindInternal},
		{"an admin adds an owner", func(t *Team) error {
			_, err := t.AddMember(RoleAdmin, "mem_2", "n@a.example", "", RoleOwner)
			return err
		}, KindPermissionDenied},
		{"an agent adds anyone", func(t *Team) error {
			_, err := t.AddMember(RoleAgent, "mem_2", "n@a.example", "", RoleAgent)
			return err
		}, KindPermissionDenied},
		{"an email taken", func(t *Team) error {
			_, err := t.AddMember(RoleOwner, "mem_2", "ag@a.example", "", RoleAgent)
			return err
		}, KindAlreadyExists},
		{"an agent's own key", func(t *Team) error {
			_, err := t.CreateAPIKey("mem_agent", RoleAgent, "key_1", "mem_agent", "h", "sb_abcd")
			return err
		}, KindInternal},
		{"an agent's key for another", func(t *Team) error {
			_, err := t.CreateAPIKey("mem_agent", RoleAgent, "key_1", "mem_admin", "h", "sb_abcd")
			return err
		}, KindPermissionDenied},
		{"an admin's key for another", func(t *Team) error {
			_, err := t.CreateAPIKey("mem_admin", RoleAdmin, "key_1", "mem_agent", "h", "sb_abcd")
			return err
		}, KindInternal},
		{"a key for an unknown member", func(t *Team) error {
			_, err := t.CreateAPIKey("mem_owner", RoleOwner, "key_1", "mem_x", "h", "sb_abcd")
			return err
		}, KindNotFound},
		{"an active link", func(t *Team) error { _, err := t.ActiveLink("acc_1"); return err }, KindInternal},
		{"an unlinked link receives", func(t *Team) error { _, err := t.ActiveLink("acc_old"); return err }, KindPrecondition},
		{"an unknown link", func(t *Team) error { _, err := t.ActiveLink("acc_x"); return err }, KindNotFound},
		{"unlink", func(t *Team) error { _, err := t.UnlinkAccount("acc_1"); return err }, KindInternal},
		{"unlink again", func(t *Team) error { _, err := t.UnlinkAccount("acc_old"); return err }, KindPrecondition},
		{"unlink unknown", func(t *Team) error { _, err := t.UnlinkAccount("acc_x"); return err }, KindNotFound},
		{"create the team again", func(t *Team) error {
			_, err := t.Create("A", TeamMember{ID: "mem_x"}, "", "key_x", "h", "", false)
			return err
		}, KindAlreadyExists},
		{"an admin's key for an owner", func(t *Team) error {
			_, err := t.CreateAPIKey("mem_admin", RoleAdmin, "key_1", "mem_owner", "h", "")
			return err
		}, KindPermissionDenied},
		{"an agent revokes its own key", func(t *Team) error {
			_, err := t.RevokeAPIKey("mem_agent", RoleAgent, "key_agent", RevokedByMember)
			return err
		}, KindInternal},
		{"an agent revokes another's key", func(t *Team) error {
			_, err := t.RevokeAPIKey("mem_agent", RoleAgent, "key_admin", RevokedByMember)
			return err
		}, KindPermissionDenied},
		{"an admin revokes an agent's key", func(t *Team) error {
			_, err := t.RevokeAPIKey("mem_admin", RoleAdmin, "key_agent", RevokedByMember)
			return err
		}, KindInternal},
		{"an admin revokes an owner's key", func(t *Team) error {
			_, err := t.RevokeAPIKey("mem_admin", RoleAdmin, "key_owner", RevokedByMember)
			return err
		}, KindPermissionDenied},
		{"revoke an unknown key", func(t *Team) error {
			_, err := t.RevokeAPIKey("mem_owner", RoleOwner, "key_x", RevokedByMember)
			return err
		}, KindNotFound},
		{"an admin removes an agent", func(t *Team) error { _, err := t.RemoveMember(RoleAdmin, "mem_agent"); return err }, KindInternal},
		{"an agent removes anyone", func(t *Team) error { _, err := t.RemoveMember(RoleAgent, "mem_agent"); return err }, KindPermissionDenied},
		{"an admin removes an owner", func(t *Team) error { _, err := t.RemoveMember(RoleAdmin, "mem_owner"); return err }, KindPermissionDenied},
		{"the last owner", func(t *Team) error { _, err := t.RemoveMember(RoleOwner, "mem_owner"); return err }, KindPrecondition},
		{"remove an unknown member", func(t *Team) error { _, err := t.RemoveMember(RoleOwner, "mem_x"); return err }, KindNotFound},
		{"an agent relinks", func(t *Team) error {
			_, err := t.LinkAccount(RoleAgent, AccountLinked{AccountLinkID: "acc_1"})
			return err
		}, KindPermissionDenied},
		{"an admin relinks", func(t *Team) error {
			_, err := t.LinkAccount(RoleAdmin, AccountLinked{AccountLinkID: "acc_1"})
			return err
		}, KindInternal},
		{"an agent links a new account", func(t *Team) error {
			_, err := t.LinkAccount(RoleAgent, AccountLinked{AccountLinkID: "acc_new"})
			return err
		}, KindInternal},
		{"unhealthy without a reason", func(t *Team) error { _, _, err := t.ReportHealth("acc_1", false, ""); return err }, KindInvalid},
		{"health of an unknown link", func(t *Team) error { _, _, err := t.ReportHealth("acc_x", true, ""); return err }, KindNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantKind(t, c.run(aTeam()), c.kind) })
	}
}

func TestTeamRelinkAndHealth(t *testing.T) {
	tm := aTeam()
	report := func(healthy bool, reason string) bool {
		t.Helper()
		e, ok, err := tm.ReportHealth("acc_1", healthy, reason)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			tm.Apply(teamEvent(e))
		}
		return ok
	}
	if report(true, "") {
		t.Error("a healthy link reported healthy changed")
	}
	if !report(false, "token expired") || report(false, "token expired") {
		t.Error("a refusal must change once, not on repeats")
	}
	if !report(false, "account suspended") {
		t.Error("another reason is another state")
	}
	tm.Apply(teamEvent(AccountLinked{AccountLinkID: "acc_1", Platform: PlatformAPI, PlatformID: "crm"}))
	if !report(false, "token expired") {
		t.Error("the same refusal after a relink is a change")
	}
	tm.Apply(teamEvent(AccountUnlinked{AccountLinkID: "acc_1"}))
	if report(false, "anything") || report(true, "") {
		t.Error("an unlinked link's health does not change")
	}
}

// Deciding never changes the aggregate: only Apply does, and a clone is independent.
func TestTeamCloneIsIndependent(t *testing.T) {
	tm := aTeam()
	c := tm.Clone()
	c.Apply(teamEvent(TagCreated{TagID: "tag_2", Name: "Lead"}))
	if _, err := tm.CreateTag("tag_3", "lead", ""); err != nil {
		t.Fatalf("the original saw the clone's tag: %v", err)
	}
	if c.Version() != tm.Version()+1 {
		t.Fatalf("versions: clone %d, original %d", c.Version(), tm.Version())
	}
}

func TestTeamRemoveMemberRevokesItsKeys(t *testing.T) {
	tm := aTeam()
	tm.Apply(teamEvent(APIKeyCreated{KeyID: "key_agent_2", MemberID: "mem_agent", KeyHash: "h2"}))
	out, err := tm.RemoveMember(RoleOwner, "mem_agent")
	if err != nil {
		t.Fatal(err)
	}
	want := []Payload{MemberRemoved{MemberID: "mem_agent"},
		APIKeyRevoked{KeyID: "key_agent", MemberID: "mem_agent", Reason: RevokedWithMember},
		APIKeyRevoked{KeyID: "key_agent_2", MemberID: "mem_agent", Reason: RevokedWithMember}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("decided %v, want %v", out, want)
	}
	for _, p := range out {
		tm.Apply(teamEvent(p))
	}
	if _, err := tm.Member("mem_agent"); KindOf(err) != KindNotFound {
		t.Fatal("the removed member is still a member")
	}
	if _, err := tm.AddMember(RoleOwner, "mem_new", "ag@a.example", "", RoleAgent); err != nil {
		t.Fatalf("the removed member's email is not free again: %v", err)
	}
}

func TestTeamRotateInstanceAdmin(t *testing.T) {
	tm := aTeam()
	if out, err := tm.RotateInstanceAdmin("key_new", []string{"hmac", "h-owner"}, "sb_abcd"); err != nil || out != nil {
		t.Fatalf("the same key (in its first-release form) decided %v, %v; want nothing", out, err)
	}
	out, err := tm.RotateInstanceAdmin("key_new", []string{"hmac-new", "sha-new"}, "sb_new1")
	if err != nil {
		t.Fatal(err)
	}
	want := []Payload{APIKeyCreated{KeyID: "key_new", MemberID: "mem_owner", KeyHash: "hmac-new", InstanceAdmin: true, Prefix: "sb_new1"},
		APIKeyRevoked{KeyID: "key_owner", MemberID: "mem_owner", Reason: RevokedByRotation}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("decided %v, want %v", out, want)
	}
	if _, err := NewTeam("team_b").RotateInstanceAdmin("key_x", []string{"h"}, ""); KindOf(err) != KindPrecondition {
		t.Fatalf("a team without an instance admin key: %v", err)
	}
}

// wantKind checks a rule's outcome: success for KindInternal, else an error of that kind.
func wantKind(t *testing.T, err error, kind ErrorKind) {
	t.Helper()
	if kind == KindInternal {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
		return
	}
	if KindOf(err) != kind {
		t.Fatalf("error %v: kind %v, want %v", err, KindOf(err), kind)
	}
}
