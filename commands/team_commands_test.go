package commands

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

func createTag(name, color string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.CreateTag.Handle(ctx, a, CreateTag{Name: name, Color: color})
	}
}

func deleteTag(id string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.DeleteTag.Handle(ctx, a, DeleteTag{TagID: id})
	}
}

func createStatus(name string, pos int32) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.CreateStatus.Handle(ctx, a, CreateStatus{Name: name, Position: pos})
	}
}

func addMember(email, name, role string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.AddMember.Handle(ctx, a, AddMember{Email: email, Name: name, Role: role})
	}
}

func createKey(memberID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.CreateAPIKey.Handle(ctx, a, CreateAPIKey{MemberID: memberID})
	}
}

// tagCreated expects the tag the result names, with the given normalized name and color.
func tagCreated(name, color string) (func(any) []wantEvent, func(*testing.T, any)) {
	return func(res any) []wantEvent {
			r := res.(TagResult)
			return []wantEvent{{teamA, domain.TagCreated{TagID: r.TagID, Name: name, Color: color}}}
		}, func(t *testing.T, res any) {
			r := res.(TagResult)
			if !domain.HasPrefix(r.TagID, domain.PrefixTag) || r.Name != name || r.Color != color {
				t.Errorf("result = %+v, want a tag_ id, name %q, color %q", r, name, color)
			}
		}
}

func statusCreated(name string, pos int32) (func(any) []wantEvent, func(*testing.T, any)) {
	return func(res any) []wantEvent {
			r := res.(StatusResult)
			return []wantEvent{{teamA, domain.StatusCreated{StatusID: r.StatusID, Name: name, Position: pos}}}
		}, func(t *testing.T, res any) {
			r := res.(StatusResult)
			if !domain.HasPrefix(r.StatusID, domain.PrefixStatus) || r.Name != name || r.StatusPosition != pos {
				t.Errorf("result = %+v, want a sts_ id, name %q, position %d", r, name, pos)
			}
		}
}

func memberAdded(email, name, role string) (func(any) []wantEvent, func(*testing.T, any)) {
	return func(res any) []wantEvent {
			r := res.(MemberResult)
			return []wantEvent{{teamA, domain.MemberAdded{MemberID: r.MemberID, Email: email, Name: name, Role: role}}}
		}, func(t *testing.T, res any) {
			r := res.(MemberResult)
			if !domain.HasPrefix(r.MemberID, domain.PrefixMember) || r.Email != email || r.Name != name || r.Role != role {
				t.Errorf("result = %+v, want a mem_ id, %q, %q, %q", r, email, name, role)
			}
		}
}

func keyCreated(memberID string) (func(any) []wantEvent, func(*testing.T, any)) {
	return func(res any) []wantEvent {
			r := res.(APIKeyResult)
			return []wantEvent{{teamA, domain.APIKeyCreated{KeyID: r.KeyID, MemberID: memberID, KeyHash: testKeys.Hash(r.Key), Prefix: KeyPrefix(r.Key)}}}
		}, func(t *testing.T, res any) {
			r := res.(APIKeyResult)
			if !domain.HasPrefix(r.KeyID, domain.PrefixKey) || !strings.HasPrefix(r.Key, "sb_") || len(r.Key) < 40 {
				t.Errorf("result = %+v, want a key_ id and a long sb_ key", r)
			}
		}
}

func TestTeamCommands(t *testing.T) {
	var cases []commandCase
	add := func(name string, actor Actor, run func(context.Context, App, Actor) (any, error), want func(any) []wantEvent, check func(*testing.T, any)) {
		cases = append(cases, commandCase{name: name, actor: actor, run: run, want: want, check: check})
	}
	fail := func(name string, actor Actor, run func(context.Context, App, Actor) (any, error), kind domain.ErrorKind, text string) {
		cases = append(cases, commandCase{name: name, actor: actor, run: run, kind: kind, text: text})
	}

	w, c := tagCreated("Hot lead", "#ff8800")
	add("create a tag, trimmed, color lower-cased", admin, createTag("  Hot lead ", "#FF8800"), w, c)
	w, c = tagCreated("Cold", "")
	add("create a tag without color", agent, createTag("Cold", ""), w, c)
	w, c = tagCreated("Other", "")
	add("create a tag named like another team's", owner, createTag("Other", ""), w, c)
	fail("create tag: same name", admin, createTag("VIP", ""), domain.KindAlreadyExists, "VIP")
	fail("create tag: same name in another case", admin, createTag(" vip ", "#000000"), domain.KindAlreadyExists, "VIP")
	fail("create tag: missing name", admin, createTag("  ", ""), domain.KindInvalid, "name")
	fail("create tag: long name", admin, createTag(strings.Repeat("t", 65), ""), domain.KindInvalid, "name")
	fail("create tag: bad color", admin, createTag("Warm", "orange"), domain.KindInvalid, "color")

	add("delete a tag", admin, deleteTag(tagLead), events(wantEvent{teamA, domain.TagDeleted{TagID: tagLead}}), nil)
	fail("delete tag: missing tag_id", admin, deleteTag(""), domain.KindInvalid, "tag_id")
	fail("delete tag: malformed tag_id", admin, deleteTag("tag_lead"), domain.KindInvalid, "tag_id")
	fail("delete tag: unknown tag", admin, deleteTag(tagUnknown), domain.KindNotFound, tagUnknown)
	fail("delete tag: another team's tag", admin, deleteTag(tagB), domain.KindNotFound, tagB)

	w, c = statusCreated("Won", 3)
	add("create a status", admin, createStatus(" Won ", 3), w, c)
	w, c = statusCreated("Closed", 0)
	add("create a status named like another team's", admin, createStatus("Closed", 0), w, c)
	fail("create status: same name in another case", admin, createStatus("NEW", 1), domain.KindAlreadyExists, "New")
	fail("create status: missing name", admin, createStatus("", 1), domain.KindInvalid, "name")
	fail("create status: long name", admin, createStatus(strings.Repeat("s", 65), 1), domain.KindInvalid, "name")
	fail("create status: negative position", admin, createStatus("Lost", -1), domain.KindInvalid, "position")

	w, c = memberAdded("new@a.example", "Nina", "agent")
	add("admin adds an agent (the default role)", admin, addMember(" New@A.example ", "Nina", ""), w, c)
	w, c = memberAdded("adm@a.example", "", "admin")
	add("admin adds an admin", admin, addMember("adm@a.example", "", "admin"), w, c)
	w, c = memberAdded("boss@a.example", "Bo", "owner")
	add("owner adds an owner", owner, addMember("boss@a.example", "Bo", "owner"), w, c)
	w, c = memberAdded("b@b.example", "Bea too", "agent")
	add("an email of another team is free in this one", owner, addMember("b@b.example", "Bea too", "agent"), w, c)
	fail("add member: by an agent", agent, addMember("new@a.example", "Nina", "agent"), domain.KindPermissionDenied, "owners and admins")
	fail("add member: owner added by an admin", admin, addMember("boss@a.example", "Bo", "owner"), domain.KindPermissionDenied, "owners")
	fail("add member: same email", owner, addMember("agent@a.example", "", ""), domain.KindAlreadyExists, "agent@a.example")
	fail("add member: same email in another case", owner, addMember("Agent@A.Example", "", ""), domain.KindAlreadyExists, "agent@a.example")
	fail("add member: missing email", owner, addMember("", "Nina", ""), domain.KindInvalid, "email")
	fail("add member: bad email", owner, addMember("nina", "Nina", ""), domain.KindInvalid, "email")
	fail("add member: bad role", owner, addMember("nina@a.example", "Nina", "root"), domain.KindInvalid, "role")
	fail("add member: long name", owner, addMember("nina@a.example", strings.Repeat("n", 201), ""), domain.KindInvalid, "name")

	w, c = keyCreated(agentA)
	add("an agent creates a key for itself", agent, createKey(agentA), w, c)
	w, c = keyCreated(agent2A)
	add("an admin creates a key for another member", admin, createKey(agent2A), w, c)
	w, c = keyCreated(adminA)
	add("an owner creates a key for an admin", owner, createKey(adminA), w, c)
	fail("create key: an agent for another member", agent, createKey(agent2A), domain.KindPermissionDenied, "other members")
	fail("create key: missing member_id", owner, createKey(""), domain.KindInvalid, "member_id")
	fail("create key: malformed member_id", owner, createKey("mem_1"), domain.KindInvalid, "member_id")
	fail("create key: unknown member", owner, createKey(memUnknown), domain.KindNotFound, memUnknown)
	fail("create key: another team's member", owner, createKey(memberB), domain.KindNotFound, memberB)

	runCommandCases(t, cases)
}

// A key is shown once and never recorded: the event holds its hash only.
func TestCreateAPIKeyRecordsOnlyTheHash(t *testing.T) {
	e := newEnv(t)
	r, err := e.app.CreateAPIKey.Handle(context.Background(), agent, CreateAPIKey{MemberID: agentA})
	if err != nil {
		t.Fatal(err)
	}
	ev := e.log.since(0)
	if len(ev) != 1 {
		t.Fatalf("appended %d events, want 1", len(ev))
	}
	p := ev[0].Payload.(domain.APIKeyCreated)
	if p.KeyHash != testKeys.Hash(r.Key) || p.Prefix != r.Key[:7] {
		t.Errorf("event key_hash %q is not the hash of the returned key", p.KeyHash)
	}
	if dump := fmt.Sprintf("%#v", ev[0]); strings.Contains(dump, r.Key) {
		t.Errorf("the key itself is in the event: %s", dump)
	}
	r2, err := e.app.CreateAPIKey.Handle(context.Background(), agent, CreateAPIKey{MemberID: agentA})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Key == r.Key || r2.KeyID == r.KeyID {
		t.Error("two keys share a key or an id")
	}
}

func TestAPIKeyHasher(t *testing.T) {
	// The stored form is an HMAC under the instance's secret: another instance (or anyone
	// without the secret) computes another value, so a leaked hash cannot be tested offline.
	other := NewAPIKeyHasher([]byte("another instance's secret, 32 bytes"))
	if testKeys.Hash("sb_a") == other.Hash("sb_a") {
		t.Error("two secrets give the same hash")
	}
	if testKeys.Hash("sb_a") == testKeys.Hash("sb_b") {
		t.Error("different keys hash the same")
	}
	// Keys of the first release were stored as plain hex SHA-256, and still authenticate.
	c := testKeys.Candidates("abc")
	if len(c) != 2 || c[0] != testKeys.Hash("abc") || c[1] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("candidates = %v", c)
	}
	if got := KeyPrefix("sb_abcdefgh"); got != "sb_abcd" {
		t.Errorf("prefix %q", got)
	}
}
