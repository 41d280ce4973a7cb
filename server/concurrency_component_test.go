package server_test

import (
	"fmt"
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// TestConcurrentCommandsKeepTheRules: concurrent clients cannot break a rule the API promises.
// Commands decide on their aggregate's stream and append only if it has not moved on, so of 50
// CreateTag with one name exactly one wins, and 50 racing AssignThread leave the read model
// with the last one appended. No answer is ever Internal.
func TestConcurrentCommandsKeepTheRules(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.start(t, t.TempDir())
			a := api{t, newConnectClient(s.Addr), adminKey}
			const n = 50

			codes := race(n, func(i int) error {
				return a.try(teamSvc+"CreateTag", &v1.CreateTagRequest{Name: "Hot lead"}, &v1.CreateTagResponse{})
			})
			if codes[0] != 1 || codes[connect.CodeAlreadyExists]+codes[connect.CodeAborted] != n-1 {
				t.Fatalf("50 concurrent CreateTag with one name answered %v; want 1 OK and the rest AlreadyExists or Aborted", codes)
			}
			same := 0
			for _, tg := range call[v1.ListTagsResponse](a, teamSvc+"ListTags", &v1.ListTagsRequest{}).Tags {
				if tg.Name == "Hot lead" {
					same++
				}
			}
			if same != 1 {
				t.Fatalf("%d tags named %q, want 1", same, "Hot lead")
			}

			link := a.link(v1.Platform_PLATFORM_API, "race-shop")
			m := a.ingest(msg{link.Id, "racer", "r-1", v1.Direction_DIRECTION_INBOUND, "hello", at(1)})
			members := make([]string, 10)
			for i := range members {
				members[i] = call[v1.AddMemberResponse](a, teamSvc+"AddMember", &v1.AddMemberRequest{
					Email: fmt.Sprintf("agent%d@example.com", i), Name: "Agent", Role: "agent"}).Member.Id
			}
			codes = race(n, func(i int) error {
				return a.try(threadSvc+"AssignThread", &v1.AssignThreadRequest{ThreadId: m.ThreadId, MemberId: members[i%len(members)]},
					&v1.AssignThreadResponse{})
			})
			if codes[0]+codes[connect.CodeFailedPrecondition]+codes[connect.CodeAborted] != n || codes[0] == 0 {
				t.Fatalf("50 concurrent AssignThread answered %v; want OK, FailedPrecondition or Aborted only", codes)
			}
			var last string
			assigned := 0
			for _, e := range a.events() {
				if e.Type == domain.TypeThreadAssigned && e.Key == m.ProspectId {
					last = e.Data.GetFields()["member_id"].GetStringValue()
					assigned++
				}
			}
			if assigned != codes[0] {
				t.Fatalf("%d thread.assigned events for %d successful calls", assigned, codes[0])
			}
			// The last appended assignment is what every reader sees, once applied.
			got := a.thread(m.ThreadId).AssigneeMemberId
			if got != last {
				t.Fatalf("read model shows assignee %s, the last appended event %s", got, last)
			}
		})
	}
}

// race runs n calls at once and counts their answers by code (0: OK).
func race(n int, call func(i int) error) map[connect.Code]int {
	var mu sync.Mutex
	codes := map[connect.Code]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c := codeOf(call(i))
			mu.Lock()
			codes[c]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

// TestConcurrentCommandsAcrossProcesses: two API processes share the Kafka log and the
// PostgreSQL claims; each has its own copy of the aggregates, so only the log's
// expected-version check keeps the rule when both decide at once.
func TestConcurrentCommandsAcrossProcesses(t *testing.T) {
	t.Parallel()
	a1, a2 := twoProcesses(t)
	apis := []api{a1, a2}
	for round := range 3 {
		name := fmt.Sprintf("Shared %d", round)
		codes := race(40, func(i int) error {
			return apis[i%2].try(teamSvc+"CreateTag", &v1.CreateTagRequest{Name: name}, &v1.CreateTagResponse{})
		})
		if codes[0] != 1 || codes[connect.CodeAlreadyExists]+codes[connect.CodeAborted] != 39 {
			t.Fatalf("round %d: 40 CreateTag through two processes answered %v; want 1 OK", round, codes)
		}
	}
}

// TestRevocationAcrossProcesses: a key revoked through one API process is refused by every
// process as soon as RevokeApiKey answers (it waits until the shared read model, which every
// process authenticates against, has applied the revocation).
func TestRevocationAcrossProcesses(t *testing.T) {
	t.Parallel()
	a1, a2 := twoProcesses(t)
	m := call[v1.AddMemberResponse](a1, teamSvc+"AddMember", &v1.AddMemberRequest{Email: "temp@example.com", Role: "agent"}).Member
	k := call[v1.CreateApiKeyResponse](a1, teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: m.Id})
	// The key made through process 1 works on process 2: both hash under the shared secret.
	call[v1.ListTagsResponse](a2.as(k.Key), teamSvc+"ListTags", &v1.ListTagsRequest{})
	call[v1.RevokeApiKeyResponse](a2, teamSvc+"RevokeApiKey", &v1.RevokeApiKeyRequest{KeyId: k.KeyId})
	for i, a := range []api{a1, a2} {
		err := a.as(k.Key).try(teamSvc+"ListTags", &v1.ListTagsRequest{}, &v1.ListTagsResponse{})
		wantCode(t, fmt.Sprintf("the revoked key on process %d", i+1), err, connect.CodeUnauthenticated)
	}
}

// twoProcesses starts two Switchboard processes on one Kafka log and one PostgreSQL schema: the
// first with every role, the second an API process.
func twoProcesses(t *testing.T) (api, api) {
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	cfg := server.Config{PostgresURL: pg, Kafka: scaleKafka(brokers)}
	first := cfg
	first.DataDir = t.TempDir()
	s1 := startServerWith(t, first)
	second := cfg
	second.DataDir, second.Roles = t.TempDir(), []string{"api", "ingest"}
	s2 := startServerWith(t, second)
	return api{t, newConnectClient(s1.Addr), adminKey}, api{t, newConnectClient(s2.Addr), adminKey}
}
