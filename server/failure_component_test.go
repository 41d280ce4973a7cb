package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// The failure behaviour of the distributed engines, as a client sees it: an engine that goes
// away makes the calls that need it answer Unavailable (never OK), /readyz names it, and when
// it returns the same process recovers by itself, without losing what it acknowledged.

const (
	ingestMessage = "/switchboard.v1.IngestService/IngestMessage"
	getThread     = "/switchboard.v1.ThreadService/GetThread"
	listMessages  = "/switchboard.v1.ThreadService/ListMessages"
	// outageCallDeadline is the client's deadline for one call while an engine is away: well
	// above the adapters' own bounds (the Kafka AppendTimeout is 5s in scaleKafka), so that a
	// DeadlineExceeded means the server did not answer in bounded time.
	outageCallDeadline = 20 * time.Second
	// eventually bounds every wait for an eventual state (recovery, catch-up).
	eventually = 30 * time.Second
)

// TestKafkaOutage: with the Kafka cluster gone, ingest and commands answer Unavailable within
// a bounded time and /readyz reports the event log unreachable; when the cluster comes back on
// the same port with its data, the same server (no restart) acknowledges again, the projector
// resumes, everything acknowledged before the outage is there exactly once, and what was
// refused appears only if retried, once.
func TestKafkaOutage(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresSchema(t)

	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(t.TempDir()),
		kfake.GroupMinSessionTimeout(500 * time.Millisecond)}
	first, err := kfake.NewCluster(kopts...)
	if err != nil {
		t.Fatal(err)
	}
	var second *kfake.Cluster
	// Registered before the server's cleanup, so it runs after the server stopped.
	t.Cleanup(func() {
		first.Close()
		if second != nil {
			second.Close()
		}
	})
	brokers := first.ListenAddrs()[0]
	_, port, _ := net.SplitHostPort(brokers)
	portNum, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}

	s := startServerWith(t, server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers)})
	a := api{t, newConnectClient(s.Addr), adminKey}
	wantReady(t, s.Addr, "before the outage")

	link := a.link(v1.Platform_PLATFORM_API, "kafka-outage-shop")
	mem := call[v1.AddMemberResponse](a, teamSvc+"AddMember",
		&v1.AddMemberRequest{Email: "kafka-outage@example.com", Name: "Kim", Role: "agent"}).Member
	in := v1.Direction_DIRECTION_INBOUND
	// Acknowledged before the outage: user-001 twice, user-002 and user-003 once.
	acked := []msg{
		{link.Id, pid(1), "before-1", in, "before one", at(1)},
		{link.Id, pid(1), "before-2", in, "before two", at(2)},
		{link.Id, pid(2), "before-3", in, "before three", at(3)},
		{link.Id, pid(3), "before-4", in, "before four", at(4)},
	}
	ackedRes := map[string]*v1.IngestMessageResponse{}
	for _, m := range acked {
		ackedRes[m.id] = a.ingest(m)
	}
	thread1 := ackedRes["before-1"].ThreadId

	t.Logf("%v: Kafka goes away", time.Now().Format(time.StampMilli))
	first.Close()

	// Refused during the outage, on prospects of their own so that the counts of the
	// threads above stay exact: user-004's message is never retried, user-005's is.
	notRetried := msg{link.Id, pid(4), "during-1", in, "during one", at(5)}
	retried := msg{link.Id, pid(5), "during-2", in, "during two", at(6)}
	tagReq := &v1.CreateTagRequest{Name: "outage", Color: "#112233", IdempotencyKey: "tag-during-outage"}
	assignReq := &v1.AssignThreadRequest{ThreadId: thread1, MemberId: mem.Id, IdempotencyKey: "assign-during-outage"}
	outage := []struct {
		what string
		proc string
		req  proto.Message
		res  proto.Message
	}{
		{"IngestMessage " + notRetried.id, ingestMessage, ingestRequest(notRetried), &v1.IngestMessageResponse{}},
		{"IngestMessage " + retried.id, ingestMessage, ingestRequest(retried), &v1.IngestMessageResponse{}},
		{"CreateTag", teamSvc + "CreateTag", tagReq, &v1.CreateTagResponse{}},
		{"AssignThread", threadSvc + "AssignThread", assignReq, &v1.AssignThreadResponse{}},
	}
	// Concurrently: each may take up to the adapter's AppendTimeout.
	errs := make([]error, len(outage))
	took := make([]time.Duration, len(outage))
	var wg sync.WaitGroup
	for i, c := range outage {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			errs[i] = invokeWithin(a, outageCallDeadline, c.proc, c.req, c.res)
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	for i, c := range outage {
		if errs[i] == nil {
			t.Errorf("%s with Kafka down answered OK (%v), want Unavailable", c.what, c.res)
			continue
		}
		t.Logf("%s with Kafka down: %v after %v", c.what, errs[i], took[i].Round(time.Millisecond))
		wantCode(t, c.what+" with Kafka down", errs[i], connect.CodeUnavailable)
	}
	engines := waitReadyz(t, s.Addr, "the event log reported unreachable", func(code int, e map[string]string) bool {
		return code == http.StatusServiceUnavailable && e["event_log"] == "unreachable"
	})
	if engines["read_model"] != "ok" {
		t.Errorf("/readyz with only Kafka down: engines %v, want read_model ok", engines)
	}
	// The key cache's follower of the log is reported behind, and the cache is no longer
	// trusted: keys are read from the read model.
	waitFor(t, "/readyz: the key cache follower reported behind", func() bool {
		return degraded(t, s.Addr)["key_cache_follower"] != ""
	})
	// Queries are answered from the read model meanwhile.
	if got := a.thread(thread1).MessageCount; got != 2 {
		t.Errorf("GetThread with Kafka down: %d messages, want 2", got)
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Logf("%v: Kafka comes back on port %d with its data", time.Now().Format(time.StampMilli), portNum)
	second, err = kfake.NewCluster(append(kopts, kfake.Ports(portNum))...)
	if err != nil {
		t.Fatal(err)
	}

	// The same server acknowledges again, without a restart.
	after := msg{link.Id, pid(6), "after-1", in, "after one", at(7)}
	afterRes := ingestEventually(t, a, after)
	t.Logf("%v: ingest acknowledged again", time.Now().Format(time.StampMilli))
	waitReadyz(t, s.Addr, "every engine ok again", func(code int, e map[string]string) bool {
		return code == http.StatusOK && e["event_log"] == "ok"
	})
	waitFor(t, "/readyz: the key cache follower caught up again", func() bool {
		return degraded(t, s.Addr)["key_cache_follower"] == ""
	})
	// The projector resumed: the message ingested after recovery is listed.
	waitFor(t, "the message ingested after recovery listed by ListThreads", func() bool {
		for _, th := range a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100}) {
			if th.Id == afterRes.ThreadId && th.MessageCount == 1 {
				return true
			}
		}
		return false
	})

	// Retries of what was refused. The adapter lets a publish outlive the caller that gave up
	// (its claim is settled as "maybe written"), so a refused event may in principle have
	// reached the log: what is guaranteed is that a retry yields it exactly once (the log's
	// dedup index, and the commands' idempotency keys), so that is what is asserted.
	retriedRes := ingestEventually(t, a, retried)
	if retriedRes.MessageId == "" || retriedRes.ThreadId == "" {
		t.Fatalf("retried ingest: %v", retriedRes)
	}
	tag := call[v1.CreateTagResponse](a, teamSvc+"CreateTag", tagReq).Tag
	call[v1.AssignThreadResponse](a, threadSvc+"AssignThread", assignReq)
	tags := call[v1.ListTagsResponse](a, teamSvc+"ListTags", &v1.ListTagsRequest{}).Tags
	if n := countTags(tags, "outage"); n != 1 || tag.GetName() != "outage" {
		t.Errorf("after retrying CreateTag: %d tags named outage (%v), want 1", n, tags)
	}
	if got := a.thread(thread1).AssigneeMemberId; got != mem.Id {
		t.Errorf("after retrying AssignThread: assignee %q, want %q", got, mem.Id)
	}

	// Nothing acknowledged was lost, nothing appears twice.
	wantThreadMessages(t, a, thread1, "before-2", "before-1")
	wantThreadMessages(t, a, ackedRes["before-3"].ThreadId, "before-3")
	wantThreadMessages(t, a, ackedRes["before-4"].ThreadId, "before-4")
	wantThreadMessages(t, a, afterRes.ThreadId, "after-1")
	wantThreadMessages(t, a, retriedRes.ThreadId, "during-2")
	// A repeat of an acknowledged message is still recognised after the restart.
	if dup := a.ingest(acked[0]); !dup.Duplicate || dup.MessageId != ackedRes["before-1"].MessageId {
		t.Errorf("repeat of before-1 after the outage: %v, want a duplicate of %v", dup, ackedRes["before-1"])
	}
	// The log holds each message at most once; exactly once for every acknowledged one.
	events := a.events()
	for _, m := range acked {
		if n := countMessageEvents(events, ackedRes[m.id].MessageId); n != 1 {
			t.Errorf("message %s acknowledged before the outage: %d message.received events, want 1", m.id, n)
		}
	}
	for _, r := range []*v1.IngestMessageResponse{afterRes, retriedRes} {
		if n := countMessageEvents(events, r.MessageId); n != 1 {
			t.Errorf("message %s acknowledged after the outage: %d message.received events, want 1", r.MessageId, n)
		}
	}
	// The refused message that nobody retried: at most once (see above), and never in a
	// thread twice. Its thread id is the one a retry would get.
	notRetriedThread := ""
	for _, th := range a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100}) {
		if th.Prospect.GetPlatformId() == notRetried.prospect {
			notRetriedThread = th.Id
		}
	}
	n := 0
	for _, e := range events {
		if e.Type == "message.received.v1" && dataHas(e, notRetried.id) {
			n++
		}
	}
	switch {
	case n > 1:
		t.Errorf("the refused, never retried message is in the log %d times", n)
	case n == 1:
		t.Logf("the refused, never retried message reached the log after all (a publish that outlived its caller)")
		wantThreadMessages(t, a, notRetriedThread, "during-1")
	case notRetriedThread != "":
		t.Errorf("a thread %s was projected for a message that is not in the log", notRetriedThread)
	default:
		t.Logf("the refused, never retried message is not in the log")
	}
}

// TestPostgresOutage: with PostgreSQL unreachable from a server (every connection cut, new
// ones refused), its queries answer Unavailable within a bounded time, /readyz reports the
// read model unreachable and its projector pauses, while another process that still reaches
// PostgreSQL keeps ingesting into Kafka. When PostgreSQL is back, the same server (no
// restart) answers again and its projector resumes where it stopped: the messages ingested
// during the outage appear, each counted once.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresSchema(t)
	px, proxied := testenv.PostgresProxy(t, pg)
	_, brokers := testenv.Kafka(t)

	// The process under test: every role, its PostgreSQL through the proxy.
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), PostgresURL: proxied, Kafka: scaleKafka(brokers)})
	a := api{t, newConnectClient(s.Addr), adminKey}
	wantReady(t, s.Addr, "before the outage")
	// An ingest process sharing the engines, with a direct path to PostgreSQL. Without the
	// projector role it relies on the projector of the process above.
	w := startServerWith(t, server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers),
		Roles: []string{server.RoleAPI, server.RoleIngest}})
	wa := api{t, newConnectClient(w.Addr), adminKey}

	link := a.link(v1.Platform_PLATFORM_API, "pg-outage-shop")
	in := v1.Direction_DIRECTION_INBOUND
	b1 := a.ingest(msg{link.Id, pid(1), "before-1", in, "before one", at(1)})
	a.ingest(msg{link.Id, pid(1), "before-2", in, "before two", at(2)})
	b3 := a.ingest(msg{link.Id, pid(2), "before-3", in, "before three", at(3)})
	wantThreadMessages(t, a, b1.ThreadId, "before-2", "before-1")

	t.Logf("%v: PostgreSQL goes away", time.Now().Format(time.StampMilli))
	px.SetDown(true)

	for _, c := range []struct {
		what string
		proc string
		req  proto.Message
		res  proto.Message
	}{
		{"ListThreads", listThreads, &v1.ListThreadsRequest{View: v1.View_VIEW_ALL}, &v1.ListThreadsResponse{}},
		{"GetThread", getThread, &v1.GetThreadRequest{ThreadId: b1.ThreadId}, &v1.GetThreadResponse{}},
		{"ListMessages", listMessages, &v1.ListMessagesRequest{ThreadId: b1.ThreadId}, &v1.ListMessagesResponse{}},
	} {
		start := time.Now()
		err := invokeWithin(a, outageCallDeadline, c.proc, c.req, c.res)
		if err == nil {
			t.Errorf("%s with PostgreSQL down answered OK (%v), want Unavailable", c.what, c.res)
			continue
		}
		t.Logf("%s with PostgreSQL down: %v after %v", c.what, err, time.Since(start).Round(time.Millisecond))
		wantCode(t, c.what+" with PostgreSQL down", err, connect.CodeUnavailable)
	}
	engines := waitReadyz(t, s.Addr, "the read model reported unreachable", func(code int, e map[string]string) bool {
		return code == http.StatusServiceUnavailable && e["read_model"] == "unreachable"
	})
	if engines["event_log"] != "ok" {
		t.Errorf("/readyz with only PostgreSQL down: engines %v, want event_log ok", engines)
	}
	// This process cannot even check an API key (keys, account links and the log's dedup
	// index all live in PostgreSQL): it refuses the ingest rather than acknowledge it. The
	// refusal comes before anything is written, so the message must not appear unless retried.
	refused := msg{link.Id, pid(4), "during-refused", in, "refused", at(4)}
	err := invokeWithin(a, outageCallDeadline, ingestMessage, ingestRequest(refused), &v1.IngestMessageResponse{})
	if err == nil {
		t.Fatal("ingest through the process without PostgreSQL answered OK, want Unavailable")
	}
	wantCode(t, "ingest through the process without PostgreSQL", err, connect.CodeUnavailable)

	// Meanwhile the other process keeps acknowledging: the log is Kafka, and IngestMessage
	// answers once the event is durable there, whatever the paused projector.
	during := []msg{
		{link.Id, pid(1), "during-1", in, "during one", at(5)},
		{link.Id, pid(3), "during-2", in, "during two", at(6)},
		{link.Id, pid(3), "during-3", in, "during three", at(7)},
	}
	duringRes := make([]*v1.IngestMessageResponse, len(during))
	errs := make([]error, len(during))
	var wg sync.WaitGroup
	for i, m := range during {
		wg.Add(1)
		go func() {
			defer wg.Done()
			duringRes[i] = &v1.IngestMessageResponse{}
			errs[i] = invokeWithin(wa, outageCallDeadline, ingestMessage, ingestRequest(m), duringRes[i])
		}()
	}
	wg.Wait()
	for i, m := range during {
		if errs[i] != nil {
			t.Fatalf("ingest %s through the process that reaches PostgreSQL: %v", m.id, errs[i])
		}
		if duringRes[i].Duplicate {
			t.Fatalf("ingest %s: reported a duplicate", m.id)
		}
	}
	// The projector paused: the shared read model still shows the state before the outage, to a
	// client that does not ask for read-your-writes (wa's consistency token would make it wait).
	stale := api{t, newConnectClient(w.Addr), adminKey}
	if th := stale.thread(b1.ThreadId); th.MessageCount != 2 {
		t.Errorf("with the projector's PostgreSQL down, thread of user-001 has %d messages, want still 2", th.MessageCount)
	}
	err = invokeWithin(stale, outageCallDeadline, getThread, &v1.GetThreadRequest{ThreadId: duringRes[1].ThreadId}, &v1.GetThreadResponse{})
	wantCode(t, "the thread first written during the outage, before the projector resumed", err, connect.CodeNotFound)
	if t.Failed() {
		t.FailNow()
	}

	t.Logf("%v: PostgreSQL comes back", time.Now().Format(time.StampMilli))
	px.SetDown(false)

	// The same process answers again and its projector resumes where it stopped.
	waitFor(t, "the messages ingested during the outage listed by ListThreads", func() bool {
		res := &v1.ListThreadsResponse{}
		if err := invokeWithin(a, outageCallDeadline, listThreads, &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100}, res); err != nil {
			t.Logf("ListThreads after PostgreSQL returned: %v", err)
			return false
		}
		// Each thread is on its own partition, applied on its own: wait for both.
		caughtUp := 0
		for _, th := range res.Threads {
			if (th.Id == duringRes[1].ThreadId && th.MessageCount == 2) || (th.Id == b1.ThreadId && th.MessageCount == 3) {
				caughtUp++
			}
		}
		return caughtUp == 2
	})
	t.Logf("%v: the projector caught up", time.Now().Format(time.StampMilli))
	waitReadyz(t, s.Addr, "every engine ok again", func(code int, e map[string]string) bool {
		return code == http.StatusOK && e["read_model"] == "ok"
	})
	all := a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100})
	sameSet(t, "threads after the outage", ids(all), []string{b1.ThreadId, b3.ThreadId, duringRes[1].ThreadId})
	wantThreadMessages(t, a, b1.ThreadId, "during-1", "before-2", "before-1")
	wantThreadMessages(t, a, b3.ThreadId, "before-3")
	wantThreadMessages(t, a, duringRes[1].ThreadId, "during-3", "during-2")
	// Both processes read the same.
	wantThreadMessages(t, wa, b1.ThreadId, "during-1", "before-2", "before-1")

	// The process ingests again; what it refused is absent until retried, then there once.
	res := &v1.ListThreadsResponse{}
	if err := invokeWithin(a, outageCallDeadline, listThreads, &v1.ListThreadsRequest{View: v1.View_VIEW_ALL,
		Platform: v1.Platform_PLATFORM_API, PageSize: 100}, res); err != nil {
		t.Fatal(err)
	}
	for _, th := range res.Threads {
		if th.Prospect.GetPlatformId() == refused.prospect {
			t.Errorf("the ingest refused during the outage appears: thread %v", th)
		}
	}
	r := a.ingest(refused)
	if r.Duplicate {
		t.Errorf("retrying the refused ingest: reported a duplicate, so it had been written: %v", r)
	}
	wantThreadMessages(t, a, r.ThreadId, "during-refused")
	after := a.ingest(msg{link.Id, pid(1), "after-1", in, "after one", at(8)})
	wantThreadMessages(t, a, after.ThreadId, "after-1", "during-1", "before-2", "before-1")
}

// ingestRequest is the IngestMessage request of m.
func ingestRequest(m msg) *v1.IngestMessageRequest {
	return &v1.IngestMessageRequest{
		AccountLinkId: m.link, PlatformMessageId: m.id, Direction: m.dir,
		Participant: &v1.Participant{PlatformId: m.prospect, Username: m.prospect, DisplayName: "Name " + m.prospect},
		Text:        m.text, SentAt: timestamppb.New(m.at),
	}
}

// invokeWithin calls a procedure with a client deadline of d. Safe from any goroutine.
func invokeWithin(a api, d time.Duration, procedure string, req, res proto.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return a.c.invoke(ctx, a.key, procedure, req, res)
}

// ingestEventually retries an ingest until it is acknowledged (a retry of an event that did
// reach the log comes back as a duplicate, with the same ids).
func ingestEventually(t *testing.T, a api, m msg) *v1.IngestMessageResponse {
	t.Helper()
	var res *v1.IngestMessageResponse
	waitFor(t, "ingest of "+m.id+" acknowledged", func() bool {
		res = &v1.IngestMessageResponse{}
		err := invokeWithin(a, outageCallDeadline, ingestMessage, ingestRequest(m), res)
		if err != nil {
			if c := codeOf(err); c != connect.CodeUnavailable && c != connect.CodeDeadlineExceeded {
				t.Fatalf("ingest %s: %v, want OK or (while recovering) Unavailable", m.id, err)
			}
			t.Logf("ingest %s while recovering: %v", m.id, err)
		}
		return err == nil
	})
	return res
}

// waitFor polls cond until it holds, failing the test after eventually.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", eventually, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readyz returns /readyz's status code and its engines.
func readyz(addr string) (int, map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), outageCallDeadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var body struct {
		Ready   bool              `json:"ready"`
		Engines map[string]string `json:"engines"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return 0, nil, fmt.Errorf("/readyz answered %d %q: %w", resp.StatusCode, b, err)
	}
	if body.Ready != (resp.StatusCode == http.StatusOK) {
		return 0, nil, fmt.Errorf("/readyz answered %d with ready=%v", resp.StatusCode, body.Ready)
	}
	return resp.StatusCode, body.Engines, nil
}

// waitReadyz polls /readyz until ok holds and returns its engines.
func waitReadyz(t *testing.T, addr, what string, ok func(code int, engines map[string]string) bool) map[string]string {
	t.Helper()
	var engines map[string]string
	waitFor(t, "/readyz: "+what, func() bool {
		code, e, err := readyz(addr)
		if err != nil {
			t.Fatal(err)
		}
		engines = e
		return ok(code, e)
	})
	for _, name := range []string{"event_log", "read_model", "search_index"} {
		if _, found := engines[name]; !found {
			t.Errorf("/readyz does not report %s: %v", name, engines)
		}
	}
	return engines
}

func wantReady(t *testing.T, addr, when string) {
	t.Helper()
	code, engines, err := readyz(addr)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK {
		t.Fatalf("/readyz %s: %d %v, want 200", when, code, engines)
	}
}

// wantThreadMessages checks a thread's count and its messages (newest first, by platform id).
func wantThreadMessages(t *testing.T, a api, threadID string, platformIDs ...string) {
	t.Helper()
	th := a.thread(threadID)
	if int(th.MessageCount) != len(platformIDs) {
		t.Errorf("thread %s: message_count %d, want %d", threadID, th.MessageCount, len(platformIDs))
	}
	msgs := a.messages(threadID, 100)
	got := make([]string, len(msgs))
	for i, m := range msgs {
		got[i] = m.PlatformId
	}
	if fmt.Sprint(got) != fmt.Sprint(platformIDs) {
		t.Errorf("thread %s: messages %v, want %v", threadID, got, platformIDs)
	}
}

func countTags(tags []*v1.Tag, name string) int {
	n := 0
	for _, tg := range tags {
		if tg.Name == name {
			n++
		}
	}
	return n
}

// countMessageEvents counts the message.received events of a message.
func countMessageEvents(events []*v1.Event, messageID string) int {
	n := 0
	for _, e := range events {
		if e.Type == "message.received.v1" && dataHas(e, messageID) {
			n++
		}
	}
	return n
}

// dataHas reports whether one of an event's top-level fields is the string v.
func dataHas(e *v1.Event, v string) bool {
	for _, f := range e.GetData().GetFields() {
		if f.GetStringValue() == v {
			return true
		}
	}
	return false
}
