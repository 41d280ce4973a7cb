package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// TestKeyCacheAcrossProcesses: two API processes on one Kafka log and one PostgreSQL schema,
// each trusting what it cached of a key for ten minutes. A key revoked, or a member removed,
// through the first is refused by the second within moments, though the second had just
// authenticated it from its cache: the second process's follower of the log tells its cache,
// the TTL plays no part.
func TestKeyCacheAcrossProcesses(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	cfg := server.Config{PostgresURL: pg, Kafka: scaleKafka(brokers), KeyCacheTTL: 10 * time.Minute}
	first := cfg
	first.DataDir = t.TempDir()
	s1 := startServerWith(t, first)
	second := cfg
	second.DataDir, second.Roles = t.TempDir(), []string{server.RoleAPI, server.RoleIngest}
	s2 := startServerWith(t, second)
	tm := newTeam(t, api{t, newConnectClient(s1.Addr), adminKey})
	onSecond := newConnectClient(s2.Addr)
	listTags := func(key string) error {
		return api{t, onSecond, key}.try(teamSvc+"ListTags", &v1.ListTagsRequest{}, &v1.ListTagsResponse{})
	}
	// Every key works on the second process, which now has them cached.
	for _, a := range []api{tm.agent, tm.agent2, tm.admin} {
		for range 3 {
			if err := listTags(a.key); err != nil {
				t.Fatalf("a valid key on the second process: %v", err)
			}
		}
	}
	refusedOnSecond := func(what, key string) {
		t.Helper()
		began := time.Now()
		deadline := began.Add(5 * time.Second)
		for {
			err := listTags(key)
			if codeOf(err) == connect.CodeUnauthenticated {
				t.Logf("%s: refused by the second process %v after the call answered", what, time.Since(began).Round(time.Millisecond))
				return
			}
			if err != nil {
				t.Fatalf("%s on the second process: %v, want Unauthenticated", what, err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still accepted by the second process 5s after (its cache trusts it for 10 minutes)", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	call[v1.RevokeApiKeyResponse](tm.owner, teamSvc+"RevokeApiKey", &v1.RevokeApiKeyRequest{KeyId: tm.keyIDs["agent"]})
	refusedOnSecond("a key revoked through the first process", tm.agent.key)
	// The revocation emptied the second process's cache: the member's key is cached again
	// before the member is removed (which revokes their keys too).
	for range 3 {
		if err := listTags(tm.agent2.key); err != nil {
			t.Fatalf("the member's key on the second process: %v", err)
		}
	}
	call[v1.RemoveMemberResponse](tm.admin, teamSvc+"RemoveMember", &v1.RemoveMemberRequest{MemberId: tm.ids["agent2"]})
	refusedOnSecond("the key of a member removed through the first process", tm.agent2.key)

	// The other keys still work there, and the follower reports no lag.
	if err := listTags(tm.admin.key); err != nil {
		t.Errorf("the admin's key on the second process after the revocations: %v", err)
	}
	res, err := http.Get("http://" + s2.Addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.Contains(string(body), "key_cache_follower") {
		t.Errorf("/readyz of the second process: %d %s, want ready and the key cache follower not degraded", res.StatusCode, body)
	}
	res, err = http.Get("http://" + s2.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "switchboard_key_cache_follower_lag_seconds ") {
		t.Errorf("/metrics of the second process has no switchboard_key_cache_follower_lag_seconds")
	}
}

// degraded is what /readyz reports under "degraded" (part → why).
func degraded(t *testing.T, addr string) map[string]string {
	t.Helper()
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Degraded map[string]string `json:"degraded"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return body.Degraded
}
