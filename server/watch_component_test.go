package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
	"github.com/switchboard-oss/switchboard/server"
)

// h2cClient speaks HTTP/2 without TLS, as gRPC clients do; streamWindow, when set, is how much
// of a stream it takes before its reader reads (HTTP/2 flow control).
func h2cClient(t *testing.T, streamWindow int) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	if streamWindow > 0 {
		tr.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: streamWindow, MaxReceiveBufferPerConnection: 64 << 10}
	}
	c := &http.Client{Transport: tr}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// watchProtocol is a ThreadService client over one of the three protocols.
type watchProtocol struct {
	name   string
	client func(t *testing.T, addr string) switchboardv1connect.ThreadServiceClient
}

var watchProtocols = []watchProtocol{
	{"connect", func(t *testing.T, addr string) switchboardv1connect.ThreadServiceClient {
		return switchboardv1connect.NewThreadServiceClient(http.DefaultClient, "http://"+addr)
	}},
	{"grpc", func(t *testing.T, addr string) switchboardv1connect.ThreadServiceClient {
		return switchboardv1connect.NewThreadServiceClient(h2cClient(t, 0), "http://"+addr, connect.WithGRPC())
	}},
	{"grpc-web", func(t *testing.T, addr string) switchboardv1connect.ThreadServiceClient {
		return switchboardv1connect.NewThreadServiceClient(http.DefaultClient, "http://"+addr, connect.WithGRPCWeb())
	}},
}

// change is what a test reads of a ThreadChange or MessageChange.
type change struct {
	position  string
	heartbeat bool
	thread    *v1.Thread // an upserted thread (WatchThreads) or the thread itself (WatchMessages)
	removed   string
	message   *v1.Message
}

func (c change) String() string {
	switch {
	case c.heartbeat:
		return "heartbeat@" + c.position
	case c.removed != "":
		return "removed " + c.removed
	case c.message != nil:
		return "message " + c.message.PlatformId + " " + c.message.Status
	case c.thread != nil:
		return "thread " + c.thread.Id
	}
	return "?"
}

// watching is an open watch stream read into a channel until it ends.
type watching struct {
	t      *testing.T
	what   string
	ch     chan change
	end    chan error
	cancel context.CancelFunc
	last   string // the position of the last change or heartbeat read
}

func watchReq[T any](m *T, key string) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+key)
	return r
}

func watchThreads(t *testing.T, cl switchboardv1connect.ThreadServiceClient, key string, req *v1.WatchThreadsRequest) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := cl.WatchThreads(ctx, watchReq(req, key))
	if err != nil {
		cancel()
		t.Fatalf("WatchThreads: %v", err)
	}
	w := &watching{t: t, what: "WatchThreads", ch: make(chan change, 100000), end: make(chan error, 1), cancel: cancel}
	go func() {
		for st.Receive() {
			m := st.Msg()
			c := change{position: m.Position, heartbeat: m.GetHeartbeat() != nil, thread: m.GetUpsert(), removed: m.GetRemovedThreadId()}
			w.ch <- c
		}
		w.end <- st.Err()
		_ = st.Close()
		close(w.ch)
	}()
	t.Cleanup(cancel)
	return w
}

func watchMessages(t *testing.T, cl switchboardv1connect.ThreadServiceClient, key string, req *v1.WatchMessagesRequest) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := cl.WatchMessages(ctx, watchReq(req, key))
	if err != nil {
		cancel()
		t.Fatalf("WatchMessages: %v", err)
	}
	w := &watching{t: t, what: "WatchMessages", ch: make(chan change, 100000), end: make(chan error, 1), cancel: cancel}
	go func() {
		for st.Receive() {
			m := st.Msg()
			w.ch <- change{position: m.Position, heartbeat: m.GetHeartbeat() != nil, thread: m.GetThread(), message: m.GetUpsert()}
		}
		w.end <- st.Err()
		_ = st.Close()
		close(w.ch)
	}()
	t.Cleanup(cancel)
	return w
}

const watchWait = 30 * time.Second

// next returns the next change that is not a heartbeat.
func (w *watching) next() change {
	w.t.Helper()
	timeout := time.After(watchWait)
	for {
		select {
		case c, ok := <-w.ch:
			if !ok {
				w.t.Fatalf("%s ended: %v", w.what, <-w.end)
			}
			w.last = c.position
			if !c.heartbeat {
				return c
			}
		case <-timeout:
			w.t.Fatalf("%s: no change within %s (last position %s)", w.what, watchWait, w.last)
		}
	}
}

// heartbeat reads the next message, which must be a heartbeat.
func (w *watching) heartbeat() change {
	w.t.Helper()
	select {
	case c, ok := <-w.ch:
		if !ok {
			w.t.Fatalf("%s ended: %v", w.what, <-w.end)
		}
		if !c.heartbeat || c.position == "" {
			w.t.Fatalf("%s: first message %v, want a heartbeat with a position", w.what, c)
		}
		w.last = c.position
		return c
	case <-time.After(watchWait):
		w.t.Fatalf("%s: no heartbeat within %s", w.what, watchWait)
	}
	return change{}
}

// until reads changes until done says so, and returns them (heartbeats left out).
func (w *watching) until(done func(got []change) bool) []change {
	w.t.Helper()
	var got []change
	for !done(got) {
		c := w.next()
		got = append(got, c)
		if testing.Verbose() && len(got)%50 == 0 {
			w.t.Logf("%s: %d changes, last %v", w.what, len(got), c)
		}
	}
	return got
}

// stop closes the stream; the position of the last message read stays in w.last.
func (w *watching) stop() {
	w.cancel()
	for range w.ch {
	}
}

// TestWatchThreadsFollowsTheView: a thread that enters a view is an upsert, one that leaves it
// (a request that is not the inbox, done) a removal, each in order as the commands happen, over
// Connect, gRPC and gRPC-web, on both backends.
func TestWatchThreadsFollowsTheView(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.start(t, t.TempDir())
			a := api{t, newConnectClient(s.Addr), adminKey}
			owner := call[v1.ListMembersResponse](a, teamSvc+"ListMembers", &v1.ListMembersRequest{}).Members[0]
			tag := call[v1.CreateTagResponse](a, teamSvc+"CreateTag", &v1.CreateTagRequest{Name: "vip"}).Tag
			for _, p := range watchProtocols {
				t.Run(p.name, func(t *testing.T) {
					a := api{t, a.c, adminKey}
					acc := a.link(v1.Platform_PLATFORM_API, "shop-"+p.name)
					list := call[v1.ListThreadsResponse](a, threadSvc+"ListThreads", &v1.ListThreadsRequest{AccountLinkId: acc.Id})
					if list.Position == "" {
						t.Fatal("ListThreads answered no position")
					}
					w := watchThreads(t, p.client(t, s.Addr), adminKey, &v1.WatchThreadsRequest{AccountLinkId: acc.Id, AfterPosition: list.Position})
					w.heartbeat()

					// A first contact is a request: not in the inbox.
					in := a.ingest(msg{acc.Id, "cust-" + p.name, "m1", v1.Direction_DIRECTION_INBOUND, "hello", at(1)})
					if c := w.next(); c.removed != in.ThreadId {
						t.Fatalf("after a first contact: %v, want removed %s", c, in.ThreadId)
					}
					call[v1.AssignThreadResponse](a, threadSvc+"AssignThread", &v1.AssignThreadRequest{ThreadId: in.ThreadId, MemberId: owner.Id})
					if c := w.next(); c.thread == nil || c.thread.Id != in.ThreadId || c.thread.AssigneeMemberId != owner.Id {
						t.Fatalf("after assigning: %v, want the thread assigned", c)
					}
					call[v1.MarkThreadDoneResponse](a, threadSvc+"MarkThreadDone", &v1.MarkThreadDoneRequest{ThreadId: in.ThreadId})
					if c := w.next(); c.removed != in.ThreadId {
						t.Fatalf("after done: %v, want removed", c)
					}
					call[v1.ReopenThreadResponse](a, threadSvc+"ReopenThread", &v1.ReopenThreadRequest{ThreadId: in.ThreadId})
					if c := w.next(); c.thread == nil || c.thread.Done {
						t.Fatalf("after reopening: %v, want the thread back", c)
					}
					call[v1.TagProspectResponse](a, prospectSvc+"TagProspect", &v1.TagProspectRequest{ProspectId: in.ProspectId, TagId: tag.Id})
					if c := w.next(); c.thread == nil || len(c.thread.Prospect.GetTags()) != 1 || c.thread.Prospect.Tags[0].Id != tag.Id {
						t.Fatalf("after tagging: %v, want the thread with its prospect's tag", c)
					}
					// A new message: the thread changes in the view (its preview).
					a.ingest(msg{acc.Id, "cust-" + p.name, "m2", v1.Direction_DIRECTION_INBOUND, "still there?", at(2)})
					if c := w.next(); c.thread == nil || c.thread.LastMessageText != "still there?" || c.thread.UnreadCount != 2 {
						t.Fatalf("after a new message: %v, want its preview and 2 unread", c)
					}
				})
			}
		})
	}
}

// TestWatchResumesWithoutGap: streams over the three protocols, closed while 500 messages
// arrive in a thread (and 50 new threads start), reconnect with the last position they saw
// and receive all of them, in order, none twice (a thread's events share a partition: their
// order holds on Kafka too).
func TestWatchResumesWithoutGap(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.start(t, t.TempDir())
			a := api{t, newConnectClient(s.Addr), adminKey}
			acc := a.link(v1.Platform_PLATFORM_API, "shop")
			first := a.ingest(msg{acc.Id, "cust-resume", "first", v1.Direction_DIRECTION_INBOUND, "first", at(0)})
			page := call[v1.ListMessagesResponse](a, threadSvc+"ListMessages", &v1.ListMessagesRequest{ThreadId: first.ThreadId})
			if page.Position == "" {
				t.Fatal("ListMessages answered no position")
			}
			var streams []*watching
			for _, p := range watchProtocols {
				w := watchMessages(t, p.client(t, s.Addr), adminKey, &v1.WatchMessagesRequest{ThreadId: first.ThreadId, AfterPosition: page.Position})
				w.what = "WatchMessages over " + p.name
				w.heartbeat()
				streams = append(streams, w)
			}
			list := call[v1.ListThreadsResponse](a, threadSvc+"ListThreads", &v1.ListThreadsRequest{View: v1.View_VIEW_ALL})
			threads := watchThreads(t, watchProtocols[0].client(t, s.Addr), adminKey, &v1.WatchThreadsRequest{View: v1.View_VIEW_ALL, AfterPosition: list.Position})
			threads.heartbeat()

			// Live first: each stream gets the next message.
			a.ingest(msg{acc.Id, "cust-resume", "live", v1.Direction_DIRECTION_INBOUND, "live", at(1)})
			for _, w := range streams {
				if c := w.next(); c.message == nil || c.message.PlatformId != "live" {
					t.Fatalf("%s: %v, want message live", w.what, c)
				}
				w.stop()
			}
			threads.next()
			threads.stop()

			const n, newThreads = 500, 50
			for i := range n {
				a.ingest(msg{acc.Id, "cust-resume", fmt.Sprintf("m-%03d", i), v1.Direction_DIRECTION_INBOUND, fmt.Sprintf("message %d", i), at(2 + i)})
			}
			want := map[string]bool{}
			for i := range newThreads {
				want[a.ingest(msg{acc.Id, fmt.Sprintf("new-%02d", i), fmt.Sprintf("hi-%02d", i), v1.Direction_DIRECTION_INBOUND, "hi", at(600 + i)}).ThreadId] = true
			}
			// Last messages tell when a stream has delivered everything before them: one in
			// the watched thread, one that starts a thread (changed by no earlier event).
			a.ingest(msg{acc.Id, "cust-resume", "end", v1.Direction_DIRECTION_INBOUND, "end", at(700)})
			sentinel := a.ingest(msg{acc.Id, "cust-last", "last", v1.Direction_DIRECTION_INBOUND, "last", at(701)}).ThreadId

			for i, p := range watchProtocols {
				w := watchMessages(t, p.client(t, s.Addr), adminKey, &v1.WatchMessagesRequest{ThreadId: first.ThreadId, AfterPosition: streams[i].last})
				w.what = "resumed WatchMessages over " + p.name
				w.heartbeat()
				got := w.until(func(got []change) bool {
					return len(got) > 0 && got[len(got)-1].message != nil && got[len(got)-1].message.PlatformId == "end"
				})
				var order []string
				for _, c := range got {
					if c.message == nil {
						t.Fatalf("%s: %v, want only messages", w.what, c)
					}
					order = append(order, c.message.PlatformId)
				}
				if len(order) != n+1 {
					t.Fatalf("%s: %d messages, want %d (500 and the end)", w.what, len(order), n+1)
				}
				for i := range n {
					if want := fmt.Sprintf("m-%03d", i); order[i] != want {
						t.Fatalf("%s: message %d is %s, want %s: out of order, missing or twice", w.what, i, order[i], want)
					}
				}
				w.stop()
			}

			w := watchThreads(t, watchProtocols[0].client(t, s.Addr), adminKey, &v1.WatchThreadsRequest{View: v1.View_VIEW_ALL, AfterPosition: threads.last})
			w.heartbeat()
			seen := map[string]int{}
			w.until(func(got []change) bool {
				if len(got) > 0 {
					c := got[len(got)-1]
					if c.thread == nil {
						t.Fatalf("resumed WatchThreads(ALL): %v, want upserts only", c)
					}
					seen[c.thread.Id]++
				}
				// On Kafka the partitions come one after the other: every thread of ours,
				// not only the last one started, tells that the stream has caught up.
				for id := range want {
					if seen[id] == 0 {
						return false
					}
				}
				return seen[sentinel] > 0
			})
			for id := range want {
				if seen[id] != 1 {
					t.Errorf("resumed WatchThreads(ALL): new thread %s seen %d times, want once", id, seen[id])
				}
			}
		})
	}
}

// TestWatchTenancy: a team's streams see nothing of another team's threads, and cannot watch
// another team's thread.
func TestWatchTenancy(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	a := api{t, newConnectClient(s.Addr), adminKey}
	team2 := call[v1.CreateTeamResponse](a, teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "second"})
	b := a.as(team2.OwnerKey)
	accA, accB := a.link(v1.Platform_PLATFORM_API, "shop-a"), b.link(v1.Platform_PLATFORM_API, "shop-b")
	secret := a.ingest(msg{accA.Id, "cust-a", "a1", v1.Direction_DIRECTION_INBOUND, "team one only", at(1)})

	cl := watchProtocols[1].client(t, s.Addr)
	_, err := cl.WatchMessages(context.Background(), watchReq(&v1.WatchMessagesRequest{ThreadId: secret.ThreadId}, team2.OwnerKey))
	if err == nil {
		// A stream's error comes with its first receive.
		ctx, cancel := context.WithTimeout(context.Background(), watchWait)
		defer cancel()
		st, _ := cl.WatchMessages(ctx, watchReq(&v1.WatchMessagesRequest{ThreadId: secret.ThreadId}, team2.OwnerKey))
		for st.Receive() {
			t.Fatalf("team two watches team one's thread and receives %v", st.Msg())
		}
		err = st.Err()
	}
	wantCode(t, "WatchMessages of another team's thread", err, connect.CodeNotFound)

	w := watchThreads(t, cl, team2.OwnerKey, &v1.WatchThreadsRequest{View: v1.View_VIEW_ALL})
	w.heartbeat()
	a.ingest(msg{accA.Id, "cust-a", "a2", v1.Direction_DIRECTION_INBOUND, "team one again", at(2)})
	a.ingest(msg{accA.Id, "cust-a2", "a3", v1.Direction_DIRECTION_INBOUND, "team one, another", at(3)})
	own := b.ingest(msg{accB.Id, "cust-b", "b1", v1.Direction_DIRECTION_INBOUND, "team two", at(4)})
	if c := w.next(); c.thread == nil || c.thread.Id != own.ThreadId {
		t.Fatalf("team two's first change is %v, want its own thread %s", c, own.ThreadId)
	}
}

// TestWatchDropsSlowClient: a client that stops reading is dropped with ResourceExhausted once
// its queue stays full, while another stream of the same view gets every change; the dropped
// client resumes from the last position it received and misses nothing.
func TestWatchDropsSlowClient(t *testing.T) {
	t.Parallel()
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), Limits: connectrpc.Limits{WatchQueue: 8, WatchStall: 2 * time.Second}})
	a := api{t, newConnectClient(s.Addr), adminKey}
	acc := a.link(v1.Platform_PLATFORM_API, "shop")

	// The slow client takes at most 32 KiB of its stream before it reads (HTTP/2 flow control).
	slowClient := switchboardv1connect.NewThreadServiceClient(h2cClient(t, 32<<10), "http://"+s.Addr, connect.WithGRPC())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, err := slowClient.WatchThreads(ctx, watchReq(&v1.WatchThreadsRequest{View: v1.View_VIEW_ALL}, adminKey))
	if err != nil {
		t.Fatal(err)
	}
	if !slow.Receive() || slow.Msg().GetHeartbeat() == nil {
		t.Fatalf("slow stream: no first heartbeat: %v", slow.Err())
	}
	fast := watchThreads(t, watchProtocols[0].client(t, s.Addr), adminKey, &v1.WatchThreadsRequest{View: v1.View_VIEW_ALL})
	fast.heartbeat()

	const n = 400
	var order []string
	for i := range n {
		order = append(order, a.ingest(msg{acc.Id, pid(i), fmt.Sprintf("m-%d", i), v1.Direction_DIRECTION_INBOUND, strings.Repeat("x", 200), at(i)}).ThreadId)
	}
	got := fast.until(func(got []change) bool { return len(got) == n })
	for i, c := range got {
		if c.thread == nil || c.thread.Id != order[i] {
			t.Fatalf("fast stream: change %d is %v, want thread %s", i, c, order[i])
		}
	}

	// The slow stream is dropped (metrics say when), then tells its client when it reads.
	deadline := time.Now().Add(watchWait)
	for !strings.Contains(metrics(t, s.Addr), "switchboard_watch_streams_dropped_total 1") {
		if time.Now().After(deadline) {
			t.Fatal("the slow stream was not dropped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var slowGot []string
	last := ""
	for slow.Receive() {
		m := slow.Msg()
		last = m.Position
		if u := m.GetUpsert(); u != nil {
			slowGot = append(slowGot, u.Id)
		}
	}
	wantCode(t, "the slow stream", slow.Err(), connect.CodeResourceExhausted)
	if len(slowGot) >= n {
		t.Fatalf("the slow stream got all %d changes before it was dropped", len(slowGot))
	}
	for i, id := range slowGot {
		if id != order[i] {
			t.Fatalf("slow stream: change %d is %s, want %s", i, id, order[i])
		}
	}
	_ = slow.Close()

	resumed := watchThreads(t, watchProtocols[0].client(t, s.Addr), adminKey, &v1.WatchThreadsRequest{View: v1.View_VIEW_ALL, AfterPosition: last})
	resumed.heartbeat()
	rest := resumed.until(func(got []change) bool { return len(slowGot)+len(got) == n })
	for i, c := range rest {
		if want := order[len(slowGot)+i]; c.thread == nil || c.thread.Id != want {
			t.Fatalf("resumed slow stream: change %d is %v, want %s", i, c, want)
		}
	}
}

func metrics(t *testing.T, addr string) string {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestWatchAcrossProcesses: an API process without the projector streams the changes the
// projector of another process applies to the shared read model, and resumes there.
func TestWatchAcrossProcesses(t *testing.T) {
	t.Parallel()
	a1, a2 := twoProcesses(t)
	addr2 := a2.c.(connectClient).base[len("http://"):]
	acc := a1.link(v1.Platform_PLATFORM_API, "shop")
	first := a1.ingest(msg{acc.Id, "cust-x", "x0", v1.Direction_DIRECTION_INBOUND, "first", at(0)})
	cl := watchProtocols[1].client(t, addr2)
	// Process two's read model is the shared one: it shows the thread once the projector of
	// process one has applied it.
	deadline := time.Now().Add(watchWait)
	for a2.try(threadSvc+"GetThread", &v1.GetThreadRequest{ThreadId: first.ThreadId}, &v1.GetThreadResponse{}) != nil {
		if time.Now().After(deadline) {
			t.Fatal("process two never saw the thread")
		}
		time.Sleep(20 * time.Millisecond)
	}
	msgs := watchMessages(t, cl, adminKey, &v1.WatchMessagesRequest{ThreadId: first.ThreadId})
	msgs.heartbeat()
	threads := watchThreads(t, cl, adminKey, &v1.WatchThreadsRequest{View: v1.View_VIEW_ALL})
	threads.heartbeat()

	a1.ingest(msg{acc.Id, "cust-x", "x1", v1.Direction_DIRECTION_INBOUND, "second", at(1)})
	if c := msgs.next(); c.message == nil || c.message.PlatformId != "x1" {
		t.Fatalf("process two's WatchMessages: %v, want x1", c)
	}
	if c := threads.next(); c.thread == nil || c.thread.Id != first.ThreadId {
		t.Fatalf("process two's WatchThreads: %v, want %s", c, first.ThreadId)
	}
	msgs.stop()
	for i := range 20 {
		a1.ingest(msg{acc.Id, "cust-x", fmt.Sprintf("y%02d", i), v1.Direction_DIRECTION_INBOUND, "more", at(2 + i)})
	}
	resumed := watchMessages(t, cl, adminKey, &v1.WatchMessagesRequest{ThreadId: first.ThreadId, AfterPosition: msgs.last})
	resumed.heartbeat()
	got := resumed.until(func(got []change) bool { return len(got) == 20 })
	for i, c := range got {
		if want := fmt.Sprintf("y%02d", i); c.message == nil || c.message.PlatformId != want {
			t.Fatalf("resumed on process two: change %d is %v, want %s", i, c, want)
		}
	}
}

// TestWatchBadInput: positions that are garbage or ahead of the log, and unknown threads, are
// refused with a clear code; a quiet stream sends heartbeats.
func TestWatchBadInput(t *testing.T) {
	t.Parallel()
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), Limits: connectrpc.Limits{WatchHeartbeat: 100 * time.Millisecond}})
	a := api{t, newConnectClient(s.Addr), adminKey}
	acc := a.link(v1.Platform_PLATFORM_API, "shop")
	in := a.ingest(msg{acc.Id, "cust", "m1", v1.Direction_DIRECTION_INBOUND, "hi", at(1)})
	cl := watchProtocols[0].client(t, s.Addr)
	first := func(err error, recv func() (bool, error)) error {
		if err != nil {
			return err
		}
		ok, err := recv()
		if ok {
			return nil
		}
		return err
	}
	threads := func(req *v1.WatchThreadsRequest) error {
		ctx, cancel := context.WithTimeout(context.Background(), watchWait)
		defer cancel()
		st, err := cl.WatchThreads(ctx, watchReq(req, adminKey))
		return first(err, func() (bool, error) { ok := st.Receive(); return ok, st.Err() })
	}
	messages := func(req *v1.WatchMessagesRequest) error {
		ctx, cancel := context.WithTimeout(context.Background(), watchWait)
		defer cancel()
		st, err := cl.WatchMessages(ctx, watchReq(req, adminKey))
		return first(err, func() (bool, error) { ok := st.Receive(); return ok, st.Err() })
	}
	for _, c := range []struct {
		what string
		err  error
		code connect.Code
	}{
		{"garbage after_position", threads(&v1.WatchThreadsRequest{AfterPosition: "yesterday"}), connect.CodeInvalidArgument},
		{"after_position ahead of the log", threads(&v1.WatchThreadsRequest{AfterPosition: "0-999999999"}), connect.CodeInvalidArgument},
		{"after_position in a partition the log lacks", threads(&v1.WatchThreadsRequest{AfterPosition: "7-1"}), connect.CodeInvalidArgument},
		{"an unknown view", threads(&v1.WatchThreadsRequest{View: 99}), connect.CodeInvalidArgument},
		{"a malformed tag id", threads(&v1.WatchThreadsRequest{TagId: "vip"}), connect.CodeInvalidArgument},
		{"garbage after_position", messages(&v1.WatchMessagesRequest{ThreadId: in.ThreadId, AfterPosition: "x"}), connect.CodeInvalidArgument},
		{"no thread", messages(&v1.WatchMessagesRequest{}), connect.CodeInvalidArgument},
		{"an unknown thread", messages(&v1.WatchMessagesRequest{ThreadId: "thr_aaaaaaaaaaaaaaaaaaaaaaaaaa"}), connect.CodeNotFound},
		{"a position of the log", threads(&v1.WatchThreadsRequest{AfterPosition: in.Position}), connect.Code(0)},
	} {
		if c.code == 0 {
			if c.err != nil {
				t.Errorf("%s: %v, want a stream", c.what, c.err)
			}
			continue
		}
		wantCode(t, c.what, c.err, c.code)
	}

	// Quiet: heartbeats keep coming, each with the stream's position.
	w := watchThreads(t, cl, adminKey, &v1.WatchThreadsRequest{View: v1.View_VIEW_ALL})
	for range 3 {
		w.heartbeat()
	}
}

// TestWatchBeyondRetention: on Kafka, a position older than what the topic still holds
// (retention, deleted records) is out_of_range, telling the client to reload; a position the
// deletion left whole still resumes.
func TestWatchBeyondRetention(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers)})
	a := api{t, newConnectClient(s.Addr), adminKey}
	acc := a.link(v1.Platform_PLATFORM_API, "shop")
	old := a.ingest(msg{acc.Id, "cust", "m1", v1.Direction_DIRECTION_INBOUND, "one", at(1)})
	a.ingest(msg{acc.Id, "cust", "m2", v1.Direction_DIRECTION_INBOUND, "two", at(2)})
	now := call[v1.ListThreadsResponse](a, threadSvc+"ListThreads", &v1.ListThreadsRequest{View: v1.View_VIEW_ALL}).Position

	// Drop every record the topic holds, as retention would.
	kc, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), watchWait)
	defer cancel()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "switchboard.events"
	for p := range int32(6) {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = p, -1 // up to the high-water mark
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	res, err := req.RequestWith(ctx, kc)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Topics[0].Partitions {
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			t.Fatalf("delete records of partition %d: %v", p.Partition, err)
		}
	}

	cl := watchProtocols[1].client(t, s.Addr)
	st, err := cl.WatchThreads(ctx, watchReq(&v1.WatchThreadsRequest{View: v1.View_VIEW_ALL, AfterPosition: old.Position}, adminKey))
	if err == nil {
		for st.Receive() {
			t.Fatalf("a position older than the log resumes with %v", st.Msg())
		}
		err = st.Err()
	}
	wantCode(t, "WatchThreads after a position the log no longer holds", err, connect.CodeOutOfRange)

	w := watchThreads(t, cl, adminKey, &v1.WatchThreadsRequest{View: v1.View_VIEW_ALL, AfterPosition: now})
	w.heartbeat()
}
