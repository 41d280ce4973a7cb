package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/domain"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// team is a team with an owner (the bootstrap key), a second owner, an admin and two agents,
// each with a key of their own.
type team struct {
	owner, owner2, admin, agent, agent2 api
	ids                                 map[string]string // role name → member id
	keyIDs                              map[string]string // role name → key id
}

func newTeam(t *testing.T, a api) team {
	tm := team{owner: a, ids: map[string]string{}, keyIDs: map[string]string{}}
	for _, who := range []struct{ name, role string }{{"owner2", "owner"}, {"admin", "admin"}, {"agent", "agent"}, {"agent2", "agent"}} {
		m := call[v1.AddMemberResponse](a, teamSvc+"AddMember", &v1.AddMemberRequest{Email: who.name + "@example.com", Name: who.name, Role: who.role}).Member
		k := call[v1.CreateApiKeyResponse](a, teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: m.Id})
		tm.ids[who.name], tm.keyIDs[who.name] = m.Id, k.KeyId
		as := a.as(k.Key)
		switch who.name {
		case "owner2":
			tm.owner2 = as
		case "admin":
			tm.admin = as
		case "agent":
			tm.agent = as
		case "agent2":
			tm.agent2 = as
		}
	}
	for _, m := range call[v1.ListMembersResponse](a, teamSvc+"ListMembers", &v1.ListMembersRequest{}).Members {
		if m.Email == "owner@default.invalid" {
			tm.ids["owner"] = m.Id
		}
	}
	return tm
}

// TestRoleMatrix: every rule about who may do what to whom, through the real server. A refusal
// is PermissionDenied and changes nothing.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	tm := newTeam(t, api{t, newConnectClient(s.Addr), adminKey})
	link := tm.owner.link(v1.Platform_PLATFORM_API, "matrix-shop")
	n := 0
	email := func() string { n++; return "new" + string(rune('a'+n)) + "@example.com" }

	type attempt struct {
		name   string
		allow  map[string]bool // role name → allowed
		try    func(as api) error
		undone func(as api) // restores what an allowed attempt changed, for the next role
	}
	roles := map[string]func() api{"owner": func() api { return tm.owner }, "admin": func() api { return tm.admin }, "agent": func() api { return tm.agent }}
	attempts := []attempt{
		{"add an agent", map[string]bool{"owner": true, "admin": true}, func(as api) error {
			return as.try(teamSvc+"AddMember", &v1.AddMemberRequest{Email: email(), Role: "agent"}, &v1.AddMemberResponse{})
		}, nil},
		{"add an owner", map[string]bool{"owner": true}, func(as api) error {
			return as.try(teamSvc+"AddMember", &v1.AddMemberRequest{Email: email(), Role: "owner"}, &v1.AddMemberResponse{})
		}, nil},
		{"mint a key for an owner", map[string]bool{"owner": true}, func(as api) error {
			return as.try(teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: tm.ids["owner2"]}, &v1.CreateApiKeyResponse{})
		}, nil},
		{"mint a key for an agent", map[string]bool{"owner": true, "admin": true}, func(as api) error {
			return as.try(teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: tm.ids["agent2"]}, &v1.CreateApiKeyResponse{})
		}, nil},
		{"revoke an owner's key", map[string]bool{"owner": true}, func(as api) error {
			k := call[v1.CreateApiKeyResponse](tm.owner, teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: tm.ids["owner2"]})
			return as.try(teamSvc+"RevokeApiKey", &v1.RevokeApiKeyRequest{KeyId: k.KeyId}, &v1.RevokeApiKeyResponse{})
		}, nil},
		{"revoke an agent's key", map[string]bool{"owner": true, "admin": true}, func(as api) error {
			k := call[v1.CreateApiKeyResponse](tm.owner, teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: tm.ids["agent2"]})
			return as.try(teamSvc+"RevokeApiKey", &v1.RevokeApiKeyRequest{KeyId: k.KeyId}, &v1.RevokeApiKeyResponse{})
		}, nil},
		{"remove an agent", map[string]bool{"owner": true, "admin": true}, func(as api) error {
			m := call[v1.AddMemberResponse](tm.owner, teamSvc+"AddMember", &v1.AddMemberRequest{Email: email(), Role: "agent"}).Member
			return as.try(teamSvc+"RemoveMember", &v1.RemoveMemberRequest{MemberId: m.Id}, &v1.RemoveMemberResponse{})
		}, nil},
		{"remove an owner", map[string]bool{"owner": true}, func(as api) error {
			m := call[v1.AddMemberResponse](tm.owner, teamSvc+"AddMember", &v1.AddMemberRequest{Email: email(), Role: "owner"}).Member
			return as.try(teamSvc+"RemoveMember", &v1.RemoveMemberRequest{MemberId: m.Id}, &v1.RemoveMemberResponse{})
		}, nil},
		{"relink a linked account with new credentials", map[string]bool{"owner": true, "admin": true}, func(as api) error {
			return as.try("/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API,
				PlatformId: "matrix-shop", Credentials: map[string]string{"webhook_secret": "taken-over"}}, &v1.LinkAccountResponse{})
		}, nil},
		{"link a new account", map[string]bool{"owner": true, "admin": true, "agent": true}, func(as api) error {
			return as.try("/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API,
				PlatformId: "new-" + email()}, &v1.LinkAccountResponse{})
		}, nil},
		{"create a team", map[string]bool{"owner": true}, func(as api) error { // the owner here holds the instance admin key
			return as.try(teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "Another"}, &v1.CreateTeamResponse{})
		}, nil},
	}
	for _, at := range attempts {
		for _, role := range []string{"owner", "admin", "agent"} {
			before := len(tm.owner.events())
			err := at.try(roles[role]())
			after := len(tm.owner.events())
			switch {
			case at.allow[role] && err != nil:
				t.Errorf("%s as %s: %v, want allowed", at.name, role, err)
			case !at.allow[role] && codeOf(err) != connect.CodePermissionDenied:
				t.Errorf("%s as %s: %v, want PermissionDenied", at.name, role, err)
			case !at.allow[role] && after > before+1: // the setup of the attempt may append one event
				t.Errorf("%s as %s: refused, yet %d events appended", at.name, role, after-before)
			}
		}
	}
	// The second owner (no instance admin key) may not create teams either.
	err := tm.owner2.try(teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "Another"}, &v1.CreateTeamResponse{})
	wantCode(t, "CreateTeam with an owner key that is not the instance admin's", err, connect.CodePermissionDenied)
	// The last owner cannot be removed... once alone: remove owner2 first.
	call[v1.RemoveMemberResponse](tm.owner, teamSvc+"RemoveMember", &v1.RemoveMemberRequest{MemberId: tm.ids["owner2"]})
	for _, m := range call[v1.ListMembersResponse](tm.owner, teamSvc+"ListMembers", &v1.ListMembersRequest{}).Members {
		if m.Role == "owner" && m.Id != tm.ids["owner"] {
			call[v1.RemoveMemberResponse](tm.owner, teamSvc+"RemoveMember", &v1.RemoveMemberRequest{MemberId: m.Id})
		}
	}
	err = tm.owner.try(teamSvc+"RemoveMember", &v1.RemoveMemberRequest{MemberId: tm.ids["owner"]}, &v1.RemoveMemberResponse{})
	wantCode(t, "removing the last owner", err, connect.CodeFailedPrecondition)
	_ = link
}

// TestKeyLifecycle: a revoked key and a removed member's key are refused from the moment the call
// answers; the removed member's threads are unassigned by events; keys are listed without any
// secret; the event history never shows a key hash, and security events only to owners.
func TestKeyLifecycle(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.start(t, t.TempDir())
			tm := newTeam(t, api{t, newConnectClient(s.Addr), adminKey})

			// The agent revokes its own key: refused at once.
			call[v1.RevokeApiKeyResponse](tm.agent, teamSvc+"RevokeApiKey", &v1.RevokeApiKeyRequest{KeyId: tm.keyIDs["agent"]})
			err := tm.agent.try(teamSvc+"ListTags", &v1.ListTagsRequest{}, &v1.ListTagsResponse{})
			wantCode(t, "a revoked key", err, connect.CodeUnauthenticated)
			err = tm.owner.try(teamSvc+"RevokeApiKey", &v1.RevokeApiKeyRequest{KeyId: tm.keyIDs["agent"]}, &v1.RevokeApiKeyResponse{})
			wantCode(t, "revoking a revoked key", err, connect.CodeNotFound)

			// agent2 works on two threads, then is removed.
			link := tm.owner.link(v1.Platform_PLATFORM_API, "lifecycle-shop")
			var threads []string
			for i, who := range []string{"ana", "bo"} {
				m := tm.owner.ingest(msg{link.Id, who, "lc-" + who, v1.Direction_DIRECTION_INBOUND, "hi", at(i)})
				call[v1.AssignThreadResponse](tm.owner, threadSvc+"AssignThread", &v1.AssignThreadRequest{ThreadId: m.ThreadId, MemberId: tm.ids["agent2"]})
				threads = append(threads, m.ThreadId)
			}
			call[v1.RemoveMemberResponse](tm.admin, teamSvc+"RemoveMember", &v1.RemoveMemberRequest{MemberId: tm.ids["agent2"]})
			err = tm.agent2.try(teamSvc+"ListTags", &v1.ListTagsRequest{}, &v1.ListTagsResponse{})
			wantCode(t, "a removed member's key", err, connect.CodeUnauthenticated)
			for _, id := range threads {
				if got := tm.owner.thread(id).AssigneeMemberId; got != "" {
					t.Errorf("thread %s still assigned to %s after the member was removed", id, got)
				}
			}
			for _, m := range call[v1.ListMembersResponse](tm.owner, teamSvc+"ListMembers", &v1.ListMembersRequest{}).Members {
				if m.Id == tm.ids["agent2"] {
					t.Error("the removed member is still listed")
				}
			}
			err = tm.owner.try(threadSvc+"AssignThread", &v1.AssignThreadRequest{ThreadId: threads[0], MemberId: tm.ids["agent2"]}, &v1.AssignThreadResponse{})
			wantCode(t, "assigning a removed member", err, connect.CodeNotFound)

			// Listing keys: prefixes, no secret; an admin sees all, an agent (new key) its own.
			fresh := call[v1.CreateApiKeyResponse](tm.owner, teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: tm.ids["agent"]})
			agent := tm.owner.as(fresh.Key)
			listed := call[v1.ListApiKeysResponse](tm.admin, teamSvc+"ListApiKeys", &v1.ListApiKeysRequest{}).Keys
			seen := map[string]*v1.ApiKey{}
			for _, k := range listed {
				seen[k.Id] = k
			}
			if seen[tm.keyIDs["agent"]] != nil || seen[tm.keyIDs["agent2"]] != nil {
				t.Error("revoked keys are listed")
			}
			if k := seen[fresh.KeyId]; k == nil || k.Prefix != fresh.Key[:7] || k.MemberId != tm.ids["agent"] {
				t.Errorf("the new key is listed as %v, want prefix %s", k, fresh.Key[:7])
			}
			own := call[v1.ListApiKeysResponse](agent, teamSvc+"ListApiKeys", &v1.ListApiKeysRequest{}).Keys
			if len(own) != 1 || own[0].Id != fresh.KeyId {
				t.Errorf("the agent lists %v, want only its own key", own)
			}
			// Its use is recorded (off the request path, to within a minute).
			deadline := time.Now().Add(5 * time.Second)
			for {
				k := call[v1.ListApiKeysResponse](tm.admin, teamSvc+"ListApiKeys", &v1.ListApiKeysRequest{}).Keys
				used := false
				for _, x := range k {
					used = used || (x.Id == fresh.KeyId && x.LastUsedAt != nil)
				}
				if used {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the key's last use was never recorded")
				}
				time.Sleep(50 * time.Millisecond)
			}

			// The history: no key hash for anyone; security events' details for owners only.
			for who, as := range map[string]api{"owner": tm.owner, "agent": agent} {
				for _, e := range as.events() {
					if e.Type != domain.TypeAPIKeyCreated && e.Type != domain.TypeAPIKeyRevoked {
						continue
					}
					f := e.Data.GetFields()
					if _, ok := f["key_hash"]; ok {
						t.Errorf("%s sees a key hash in %s", who, e.Type)
					}
					if _, ok := f["prefix"]; ok != (who == "owner") && e.Type == domain.TypeAPIKeyCreated {
						t.Errorf("%s: prefix shown = %v in %s", who, ok, e.Type)
					}
					if f["key_id"].GetStringValue() == "" {
						t.Errorf("%s does not see which key %s concerns", who, e.Type)
					}
				}
			}
		})
	}
}

// lockedBuffer is a log sink that tests read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBootstrapKeyRotation: restarted with another SWITCHBOARD_BOOTSTRAP_KEY, the server revokes
// the old instance admin key by an event, says so in its log, and the new key works.
func TestBootstrapKeyRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	a := api{t, newConnectClient(s.Addr), adminKey}
	tag := call[v1.CreateTagResponse](a, teamSvc+"CreateTag", &v1.CreateTagRequest{Name: "before"}).Tag
	stopServer(t, s)

	const rotated = "sb_the_operators_new_bootstrap_key_42"
	var logs lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0", BootstrapKey: rotated,
		ShutdownTimeout: 5 * time.Second, Roles: []string{"api", "ingest", "projector"}},
		slog.New(slog.NewTextHandler(io.MultiWriter(&logs), nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopServer(t, s) })
	c := newConnectClient(s.Addr)
	err = api{t, c, adminKey}.try(teamSvc+"ListTags", &v1.ListTagsRequest{}, &v1.ListTagsResponse{})
	wantCode(t, "the replaced bootstrap key", err, connect.CodeUnauthenticated)
	b := api{t, c, rotated}
	tags := call[v1.ListTagsResponse](b, teamSvc+"ListTags", &v1.ListTagsRequest{}).Tags
	if len(tags) != 1 || tags[0].Id != tag.Id {
		t.Fatalf("the new key sees tags %v, want the same team's", tags)
	}
	// Still the instance admin: it may create teams.
	call[v1.CreateTeamResponse](b, teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "after rotation"})
	revoked := 0
	for _, e := range b.events() {
		if e.Type == domain.TypeAPIKeyRevoked && e.Data.GetFields()["reason"].GetStringValue() == domain.RevokedByRotation {
			revoked++
		}
	}
	if revoked != 1 {
		t.Fatalf("%d api_key.revoked events for the rotation, want 1", revoked)
	}
	if !strings.Contains(logs.String(), "instance admin key changed") || strings.Contains(logs.String(), rotated) {
		t.Fatalf("log: %s", logs.String())
	}
	// A restart with the same key changes nothing more.
	stopServer(t, s)
	s2 := startServerWith(t, server.Config{DataDir: dir, BootstrapKey: rotated})
	n := 0
	for _, e := range (api{t, newConnectClient(s2.Addr), rotated}).events() {
		if e.Type == domain.TypeAPIKeyRevoked {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d revocations after a second restart, want still 1", n)
	}
}
