package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/adapters/postgres"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	"github.com/switchboard-oss/switchboard/projections"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
	"github.com/switchboard-oss/switchboard/server"
)

// rebuildEvents is how many events the blue/green tests project twice: 10,000 under make test
// (about 40 s on a loaded 2-core machine), 3,000 with -short; SWITCHBOARD_REBUILD_EVENTS=100000 runs the full proof.
func rebuildEvents(t *testing.T) int {
	if v := os.Getenv("SWITCHBOARD_REBUILD_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			t.Fatalf("SWITCHBOARD_REBUILD_EVENTS=%q: want a number >= 100", v)
		}
		return n
	}
	if testing.Short() {
		return 3000
	}
	return 10000
}

// bearer adds an API key to every call of a generated client.
func bearer(key string) connect.Option {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+key)
			return next(ctx, req)
		}
	}))
}

// seedMessages appends n inbound messages of the team to the log as webhooks would (spread
// over 500 prospects, each with its thread), every text holding the word "bluegreen".
func seedMessages(t *testing.T, s *server.Server, teamID, linkID string, n int) {
	t.Helper()
	ctx := context.Background()
	const batch = 1000
	start := time.Now().UTC().Add(-time.Duration(n) * time.Second)
	for i := 0; i < n; i += batch {
		var events []domain.Event
		for j := i; j < min(n, i+batch); j++ {
			user := fmt.Sprintf("bg-user-%d", j%500)
			sent := start.Add(time.Duration(j) * time.Second)
			pmid := fmt.Sprintf("bg-%d", j)
			p := domain.MessageReceived{
				MessageID:  domain.MessageID(teamID, domain.PlatformAPI, linkID, pmid),
				ThreadID:   domain.ThreadID(teamID, domain.PlatformAPI, linkID, user),
				ProspectID: domain.ProspectID(teamID, domain.PlatformAPI, user), AccountLinkID: linkID,
				Platform: domain.PlatformAPI, PlatformMessageID: pmid, PlatformConversationID: user,
				Direction: domain.Inbound, Prospect: domain.Participant{PlatformID: user, Username: user},
				Text: fmt.Sprintf("bluegreen message %d from %s", j, user), SentAt: sent,
			}
			events = append(events, domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: teamID, Key: p.ProspectID,
				OccurredAt: sent, RecordedAt: sent, Actor: domain.ActorPlatform(domain.PlatformAPI), Origin: domain.OriginWebhook, Payload: p})
		}
		if _, err := s.EventLog().Append(ctx, events); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
}

// TestRebuildBlueGreen: while the read model, then the search index, is rebuilt from the whole log and swapped
// in, a client reading ListThreads and SearchMessages in a loop, and another ingesting and
// reading its own writes with their consistency tokens, never get an error nor an answer older
// than one they already had; afterwards the new file serves, the old one is gone, and the
// inbox holds what it held before plus what came in meanwhile.
func TestRebuildBlueGreen(t *testing.T) {
	dir := t.TempDir()
	blueGreen(t, func() *server.Server { return startServer(t, dir) }, func(projection string, r *v1.Rebuild) {
		// The new file serves and the old one is gone.
		cur, err := os.ReadFile(filepath.Join(dir, projection+".current"))
		if err != nil || strings.TrimSpace(string(cur)) != projection+"-1.db" || r.Target != filepath.Join(dir, projection+"-1.db") {
			t.Errorf("%s.current = %q (%v), target %s; want %s-1.db", projection, cur, err, r.Target, projection)
		}
		if _, err := os.Stat(filepath.Join(dir, projection+".db")); !os.IsNotExist(err) {
			t.Errorf("the old %s file is still there: %v", projection, err)
		}
	}, "readmodel", "search")
}

// TestRebuildBlueGreenPostgres: the same on Kafka and PostgreSQL, the read model rebuilt into
// a schema of its own (skipped loudly without PostgreSQL, failed under CI=true).
func TestRebuildBlueGreenPostgres(t *testing.T) {
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	dir := t.TempDir()
	cfg := server.Config{DataDir: dir, PostgresURL: pg, Kafka: scaleKafka(brokers)}
	blueGreen(t, func() *server.Server { return startServerWith(t, cfg) }, func(projection string, r *v1.Rebuild) {
		if !strings.HasPrefix(r.Target, "schema ") || !strings.HasSuffix(r.Target, "_rm_1") {
			t.Errorf("target %q, want schema <own>_rm_1", r.Target)
		}
		t.Cleanup(func() { // the test's own schema is dropped by testenv; this one beside it here
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := postgres.DropReadModelSchema(ctx, pg, strings.TrimPrefix(r.Target, "schema ")); err != nil {
				t.Log(err)
			}
		})
	}, "readmodel")
}

// blueGreen seeds the log, rebuilds each projection while clients read and write (see
// rebuildWhileServing), checks the engine's files with where, then restarts: the rebuilt
// versions serve the same inbox and searches.
func blueGreen(t *testing.T, start func() *server.Server, where func(projection string, r *v1.Rebuild), projections ...string) {
	n := rebuildEvents(t)
	s := start()
	admin := api{t, newConnectClient(s.Addr), adminKey}
	owner, teamID := newSearchTeam(admin, "bluegreen")
	link := owner.link(v1.Platform_PLATFORM_API, "bg-account")
	t0 := time.Now()
	seedMessages(t, s, teamID, link.Id, n)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events appended and projected (read model and search) in %s", n, time.Since(t0).Round(time.Millisecond))
	liveTotal := 0

	for i, projection := range projections {
		before := snapshotThreads(t, owner)
		r, reads, writes := rebuildWhileServing(t, s, owner, link.Id, projection, n)
		where(projection, r)
		list := call[v1.ListRebuildsResponse](owner, "/switchboard.v1.AdminService/ListRebuilds", &v1.ListRebuildsRequest{})
		if len(list.Rebuilds) != i+1 || list.Rebuilds[0].Id != r.Id {
			t.Errorf("ListRebuilds = %v, want %s first of %d", list.Rebuilds, r.Id, i+1)
		}
		// The inbox holds what it held before, plus what came in meanwhile; search finds every
		// message.
		after := snapshotThreads(t, owner)
		for id, count := range before {
			if after[id] < count {
				t.Errorf("%s: thread %s has %d messages after the rebuild, %d before", projection, id, after[id], count)
			}
		}
		live := 0
		for id, count := range after {
			live += int(count - before[id])
		}
		if live != writes {
			t.Errorf("%s: %d live messages in the inbox after the rebuild, %d ingested", projection, live, writes)
		}
		liveTotal += writes
		if got := owner.search(&v1.SearchMessagesRequest{Query: "bluegreen", PageSize: 1}).Total; got != int64(n+liveTotal) {
			t.Errorf("%s: search finds %d messages, want %d", projection, got, n+liveTotal)
		}
		t.Logf("%s rebuild of %d events: %s, %d reads and %d writes meanwhile", projection, n,
			r.FinishedAt.AsTime().Sub(r.StartedAt.AsTime()).Round(time.Millisecond), reads, writes)
	}

	// After a restart, the new files serve the same inbox and searches.
	want := snapshotThreads(t, owner)
	total := owner.search(&v1.SearchMessagesRequest{Query: "bluegreen", PageSize: 1}).Total
	stopServer(t, s)
	s = start()
	owner = api{t, newConnectClient(s.Addr), owner.key}
	got := snapshotThreads(t, owner)
	if len(got) != len(want) {
		t.Errorf("%d threads after a restart, want %d", len(got), len(want))
	}
	for id, count := range want {
		if got[id] != count {
			t.Errorf("thread %s: %d messages after a restart, %d before", id, got[id], count)
		}
	}
	if after := owner.search(&v1.SearchMessagesRequest{Query: "bluegreen", PageSize: 1}).Total; after != total {
		t.Errorf("search finds %d after a restart, %d before", after, total)
	}
}

// rebuildWhileServing rebuilds projection while a reader lists threads and searches in a loop
// and a writer ingests and reads its own writes with their tokens, and checks that neither
// got an error nor an answer older than one it had. It returns the finished rebuild and how
// many reads and writes ran meanwhile.
func rebuildWhileServing(t *testing.T, s *server.Server, owner api, linkID, projection string, n int) (*v1.Rebuild, int, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	base := "http://" + s.Addr
	threads := switchboardv1connect.NewThreadServiceClient(http.DefaultClient, base, bearer(owner.key))
	searches := switchboardv1connect.NewSearchServiceClient(http.DefaultClient, base, bearer(owner.key))
	ingest := switchboardv1connect.NewIngestServiceClient(http.DefaultClient, base, bearer(owner.key))
	adminSvc := switchboardv1connect.NewAdminServiceClient(http.DefaultClient, base, bearer(owner.key))
	// The writer's thread, as it is before: its count only grows from here.
	var liveBase int32
	for _, th := range owner.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100}) {
		if th.Prospect != nil && th.Prospect.Username == "live-user" {
			liveBase = th.MessageCount
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, writes int
	var readErr, writeErr error
	wg.Add(2)
	go func() { // the reader
		defer wg.Done()
		var lastAt time.Time
		var lastTotal int64
		lastCount := map[string]int32{}
		for {
			select {
			case <-stop:
				return
			default:
			}
			lt, err := threads.ListThreads(ctx, connect.NewRequest(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 50}))
			if err != nil {
				readErr = fmt.Errorf("ListThreads after %d reads: %w", reads, err)
				return
			}
			if len(lt.Msg.Threads) == 0 {
				readErr = fmt.Errorf("ListThreads after %d reads: no thread", reads)
				return
			}
			if at := lt.Msg.Threads[0].LastMessageAt.AsTime(); at.Before(lastAt) {
				readErr = fmt.Errorf("ListThreads went back: newest message at %s after %s", at, lastAt)
				return
			} else {
				lastAt = at
			}
			for _, th := range lt.Msg.Threads {
				if th.MessageCount < lastCount[th.Id] {
					readErr = fmt.Errorf("thread %s went back from %d to %d messages", th.Id, lastCount[th.Id], th.MessageCount)
					return
				}
				lastCount[th.Id] = th.MessageCount
			}
			sr, err := searches.SearchMessages(ctx, connect.NewRequest(&v1.SearchMessagesRequest{Query: "bluegreen", Sort: "newest", PageSize: 5}))
			if err != nil {
				readErr = fmt.Errorf("SearchMessages after %d reads: %w", reads, err)
				return
			}
			if sr.Msg.Total < lastTotal || sr.Msg.Total < int64(n) || len(sr.Msg.Hits) == 0 {
				readErr = fmt.Errorf("SearchMessages went back: %d hits (%d shown) after %d", sr.Msg.Total, len(sr.Msg.Hits), lastTotal)
				return
			}
			lastTotal = sr.Msg.Total
			reads++
		}
	}()
	go func() { // the writer: reads its own writes with the token IngestMessage answered
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			text := fmt.Sprintf("bluegreen live %s %d", projection, i)
			res, err := ingest.IngestMessage(ctx, connect.NewRequest(&v1.IngestMessageRequest{
				AccountLinkId: linkID, PlatformMessageId: fmt.Sprintf("live-%s-%d", projection, i), Direction: v1.Direction_DIRECTION_INBOUND,
				Participant: &v1.Participant{PlatformId: "live-user", Username: "live-user"},
				Text:        text, SentAt: timestamppb.Now(),
			}))
			if err != nil {
				writeErr = fmt.Errorf("IngestMessage %d: %w", i, err)
				return
			}
			req := connect.NewRequest(&v1.GetThreadRequest{ThreadId: res.Msg.ThreadId})
			req.Header().Set("Switchboard-Consistency-Token", res.Msg.Position)
			th, err := threads.GetThread(ctx, req)
			if err != nil {
				writeErr = fmt.Errorf("GetThread after ingest %d: %w", i, err)
				return
			}
			if th.Msg.Thread.MessageCount < liveBase+int32(i+1) {
				writeErr = fmt.Errorf("read-your-writes broken: thread has %d messages after %d ingested", th.Msg.Thread.MessageCount, liveBase+int32(i+1))
				return
			}
			sreq := connect.NewRequest(&v1.SearchMessagesRequest{Query: fmt.Sprintf(`"%s"`, text)})
			sreq.Header().Set("Switchboard-Consistency-Token", res.Msg.Position)
			sr, err := searches.SearchMessages(ctx, sreq)
			if err != nil {
				writeErr = fmt.Errorf("SearchMessages after ingest %d: %w", i, err)
				return
			}
			if sr.Msg.Total != 1 {
				writeErr = fmt.Errorf("search-your-writes broken: %q finds %d", text, sr.Msg.Total)
				return
			}
			writes++
			time.Sleep(10 * time.Millisecond)
		}
	}()

	started, err := adminSvc.RebuildProjection(ctx, connect.NewRequest(&v1.RebuildProjectionRequest{Projection: projection}))
	if err != nil {
		t.Fatalf("RebuildProjection: %v", err)
	}
	_, err = adminSvc.RebuildProjection(ctx, connect.NewRequest(&v1.RebuildProjectionRequest{Projection: projection}))
	wantCode(t, "a second rebuild while one runs", err, connect.CodeFailedPrecondition)
	phases := map[string]bool{}
	var r *v1.Rebuild
	for {
		res, err := adminSvc.GetRebuild(ctx, connect.NewRequest(&v1.GetRebuildRequest{RebuildId: started.Msg.Rebuild.Id}))
		if err != nil {
			t.Fatalf("GetRebuild: %v", err)
		}
		r = res.Msg.Rebuild
		phases[r.Phase] = true
		if r.Phase == "done" || r.Phase == "failed" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if r.Phase != "done" {
		t.Fatalf("%s rebuild ended %s: %s", projection, r.Phase, r.Error)
	}
	if readErr != nil {
		t.Errorf("%s: %v", projection, readErr)
	}
	if writeErr != nil {
		t.Errorf("%s: %v", projection, writeErr)
	}
	if reads == 0 || writes == 0 {
		t.Errorf("%s: the clients did not run during the rebuild: %d reads, %d writes", projection, reads, writes)
	}
	if !phases["building"] && !phases["catching_up"] && !phases["swapping"] {
		t.Errorf("%s: progress never showed a phase before done: %v", projection, phases)
	}
	if r.Applied < int64(n) || r.Applied > r.Total || r.Total < int64(n) {
		t.Errorf("%s: done with %d of %d positions applied", projection, r.Applied, r.Total)
	}
	return r, reads, writes
}

// snapshotThreads is every thread's message count.
func snapshotThreads(t *testing.T, a api) map[string]int32 {
	t.Helper()
	out := map[string]int32{}
	for _, th := range a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100}) {
		out[th.Id] = th.MessageCount
	}
	return out
}

// TestRebuildProjectionOwnerOnly: admins and agents may not rebuild; bad input names the
// field; nothing starts.
func TestRebuildProjectionOwnerOnly(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	owner := api{t, newConnectClient(s.Addr), adminKey}
	base := "http://" + s.Addr
	for _, role := range []string{"admin", "agent"} {
		m := call[v1.AddMemberResponse](owner, teamSvc+"AddMember", &v1.AddMemberRequest{Email: role + "@example.com", Name: role, Role: role})
		key := call[v1.CreateApiKeyResponse](owner, teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: m.Member.Id}).Key
		c := switchboardv1connect.NewAdminServiceClient(http.DefaultClient, base, bearer(key))
		_, err := c.RebuildProjection(context.Background(), connect.NewRequest(&v1.RebuildProjectionRequest{Projection: "readmodel"}))
		wantCode(t, role+" RebuildProjection", err, connect.CodePermissionDenied)
		_, err = c.ListRebuilds(context.Background(), connect.NewRequest(&v1.ListRebuildsRequest{}))
		wantCode(t, role+" ListRebuilds", err, connect.CodePermissionDenied)
		_, err = c.GetRebuild(context.Background(), connect.NewRequest(&v1.GetRebuildRequest{RebuildId: "rb_x"}))
		wantCode(t, role+" GetRebuild", err, connect.CodePermissionDenied)
	}
	c := switchboardv1connect.NewAdminServiceClient(http.DefaultClient, base, bearer(adminKey))
	_, err := c.RebuildProjection(context.Background(), connect.NewRequest(&v1.RebuildProjectionRequest{Projection: "threads"}))
	wantCode(t, "unknown projection", err, connect.CodeInvalidArgument)
	if err == nil || !strings.Contains(err.Error(), "projection") {
		t.Errorf("the error does not name the field: %v", err)
	}
	_, err = c.GetRebuild(context.Background(), connect.NewRequest(&v1.GetRebuildRequest{RebuildId: "rb_unknown"}))
	wantCode(t, "unknown rebuild", err, connect.CodeNotFound)
	list, err := c.ListRebuilds(context.Background(), connect.NewRequest(&v1.ListRebuildsRequest{}))
	if err != nil || len(list.Msg.Rebuilds) != 0 {
		t.Errorf("ListRebuilds = %v, %v; want none", list, err)
	}
}

// TestRebuildOnVersionChange: a read model built by another projection version (here its
// checkpoint renamed to readmodel.v0) serves at start, kept up to date, while the current
// version is built beside it and swapped in; reads never fail nor lose a thread meanwhile.
func TestRebuildOnVersionChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	owner, teamID := newSearchTeam(api{t, newConnectClient(s.Addr), adminKey}, "version")
	link := owner.link(v1.Platform_PLATFORM_API, "version-account")
	seedMessages(t, s, teamID, link.Id, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	before := snapshotThreads(t, owner)
	stopServer(t, s)

	db, err := sql.Open("sqlite", filepath.Join(dir, "readmodel.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE checkpoints SET projection = 'readmodel.v0' WHERE projection = ?`, projections.ReadModelProjection); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = startServer(t, dir)
	owner = api{t, newConnectClient(s.Addr), owner.key}
	var r *v1.Rebuild
	for r == nil || (r.Phase != "done" && r.Phase != "failed") {
		got := snapshotThreads(t, owner)
		if len(got) != len(before) {
			t.Fatalf("%d threads while the new version is built, want %d", len(got), len(before))
		}
		list := call[v1.ListRebuildsResponse](owner, "/switchboard.v1.AdminService/ListRebuilds", &v1.ListRebuildsRequest{})
		if len(list.Rebuilds) != 1 || list.Rebuilds[0].Projection != "readmodel" {
			t.Fatalf("rebuilds after a start on another version: %v, want one of readmodel", list.Rebuilds)
		}
		r = list.Rebuilds[0]
	}
	if r.Phase != "done" {
		t.Fatalf("the rebuild at start failed: %s", r.Error)
	}
	if cur, err := os.ReadFile(filepath.Join(dir, "readmodel.current")); err != nil || strings.TrimSpace(string(cur)) != "readmodel-1.db" {
		t.Errorf("readmodel.current = %q (%v), want readmodel-1.db", cur, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "readmodel.db")); !os.IsNotExist(err) {
		t.Errorf("the old version's file is still there: %v", err)
	}
	after := snapshotThreads(t, owner)
	for id, count := range before {
		if after[id] != count {
			t.Errorf("thread %s: %d messages after the rebuild, %d before", id, after[id], count)
		}
	}
	// A write is read back (the serving projector follows the current version now).
	res := call[v1.IngestMessageResponse](owner, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{
		AccountLinkId: link.Id, PlatformMessageId: "after-version", Direction: v1.Direction_DIRECTION_INBOUND,
		Participant: &v1.Participant{PlatformId: "after-user", Username: "after-user"}, Text: "after", SentAt: timestamppb.Now()})
	if th := owner.thread(res.ThreadId); th.MessageCount != 1 {
		t.Errorf("a new thread has %d messages, want 1", th.MessageCount)
	}
	stopServer(t, s)
	s = startServer(t, dir) // and a restart rebuilds nothing more
	owner = api{t, newConnectClient(s.Addr), owner.key}
	if list := call[v1.ListRebuildsResponse](owner, "/switchboard.v1.AdminService/ListRebuilds", &v1.ListRebuildsRequest{}); len(list.Rebuilds) != 0 {
		t.Errorf("a restart on the current version rebuilt again: %v", list.Rebuilds)
	}
}
