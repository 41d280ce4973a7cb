package server_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

const (
	listThreads = "/switchboard.v1.ThreadService/ListThreads"
	threadSvc   = "/switchboard.v1.ThreadService/"
	prospectSvc = "/switchboard.v1.ProspectService/"
	teamSvc     = "/switchboard.v1.TeamService/"
)

// TestInboxLoop drives the whole loop through the real server, once through a Connect client
// and once through a gRPC client: link, ingest (with duplicates), every view and filter with
// paging, assign, tag, status, done and reopen-by-message, read, prospect context.
func TestInboxLoop(t *testing.T) {
	for _, b := range backends {
		for _, kind := range []string{"connect", "grpc"} {
			t.Run(b.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				s := b.start(t, t.TempDir())
				c := newConnectClient(s.Addr)
				if kind == "grpc" {
					c = newGRPCClient(t, s.Addr)
				}
				inboxScenario(t, api{t, c, adminKey})
			})
		}
	}
}

func inboxScenario(t *testing.T, a api) {
	accA := a.link(v1.Platform_PLATFORM_API, "shop")
	accB := a.link(v1.Platform_PLATFORM_MESSENGER, "page-1")
	accC := a.link(v1.Platform_PLATFORM_API, "shop-2") // same platform as A: shares A's prospects
	if accA.WebhookPath != "/webhooks/api/"+accA.Id || !accA.Active {
		t.Fatalf("link: %+v", accA)
	}
	links := call[v1.ListAccountLinksResponse](a, "/switchboard.v1.AccountService/ListAccountLinks", &v1.ListAccountLinksRequest{})
	if len(links.AccountLinks) != 3 {
		t.Fatalf("ListAccountLinks: %d links, want 3", len(links.AccountLinks))
	}
	tag := call[v1.CreateTagResponse](a, teamSvc+"CreateTag", &v1.CreateTagRequest{Name: "vip", Color: "#ff8800"}).Tag
	st := call[v1.CreateStatusResponse](a, teamSvc+"CreateStatus", &v1.CreateStatusRequest{Name: "qualified", Position: 1}).Status
	mem := call[v1.AddMemberResponse](a, teamSvc+"AddMember", &v1.AddMemberRequest{Email: "ana@example.com", Name: "Ana", Role: "agent"}).Member

	in, out := v1.Direction_DIRECTION_INBOUND, v1.Direction_DIRECTION_OUTBOUND
	th := map[string]*v1.IngestMessageResponse{}
	for i := 1; i <= 5; i++ {
		th[pid(i)+"A"] = a.ingest(msg{accA.Id, pid(i), "a-" + pid(i) + "-1", in, "hello from " + pid(i), at(i)})
	}
	second := a.ingest(msg{accA.Id, pid(1), "a-user-001-2", in, "anyone there?", at(10)})
	if second.ThreadId != th["user-001A"].ThreadId || second.ProspectId != th["user-001A"].ProspectId || second.Duplicate {
		t.Fatalf("second message of user-001: %+v", second)
	}
	// A repeat maps to the same ids and appends nothing.
	before := len(a.events())
	dup := a.ingest(msg{accA.Id, pid(1), "a-user-001-1", in, "hello from user-001", at(1)})
	if !dup.Duplicate || dup.MessageId != th["user-001A"].MessageId || dup.ThreadId != th["user-001A"].ThreadId {
		t.Fatalf("duplicate ingest: %+v, first %+v", dup, th["user-001A"])
	}
	if n := len(a.events()); n != before {
		t.Fatalf("duplicate appended %d events", n-before)
	}
	a.ingest(msg{accA.Id, pid(2), "a-user-002-reply", out, "yes, we have it", at(11)})
	th["user-006B"] = a.ingest(msg{accB.Id, pid(6), "b-user-006-1", in, "first contact on messenger", at(12)})
	th["user-001C"] = a.ingest(msg{accC.Id, pid(1), "c-user-001-1", in, "me again, on the other shop", at(13)})
	th["user-007A"] = a.ingest(msg{accA.Id, pid(7), "a-user-007-1", out, "we wrote first", at(14)})
	tid := func(k string) string { return th[k].ThreadId }

	view := func(v v1.View) []string {
		t.Helper()
		return ids(a.threads(&v1.ListThreadsRequest{View: v}))
	}
	sameSet(t, "REQUESTS", view(v1.View_VIEW_REQUESTS), []string{tid("user-001A"), tid("user-003A"), tid("user-004A"), tid("user-005A"), tid("user-006B")})
	sameSet(t, "INBOX", view(v1.View_VIEW_INBOX), []string{tid("user-002A"), tid("user-001C"), tid("user-007A")})
	sameSet(t, "UNSPECIFIED is INBOX", view(v1.View_VIEW_UNSPECIFIED), view(v1.View_VIEW_INBOX))
	sameSet(t, "NO_REPLY", view(v1.View_VIEW_NO_REPLY), []string{tid("user-002A"), tid("user-007A")})
	sameSet(t, "ARCHIVED", view(v1.View_VIEW_ARCHIVED), nil)
	all := a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL})
	if len(all) != 8 {
		t.Fatalf("ALL: %d threads, want 8", len(all))
	}
	for i := 1; i < len(all); i++ {
		prev, cur := all[i-1].LastMessageAt.AsTime(), all[i].LastMessageAt.AsTime()
		if cur.After(prev) {
			t.Errorf("ALL not newest first at %d: %v after %v", i, cur, prev)
		}
	}

	// The thread shows its prospect, last message, counts.
	t1 := a.thread(tid("user-001A"))
	if t1.Prospect.GetDisplayName() != "Name user-001" || t1.Prospect.GetUsername() != "user-001" ||
		t1.LastMessageText != "anyone there?" || t1.LastMessageDirection != in ||
		!t1.LastMessageAt.AsTime().Equal(at(10)) || t1.UnreadCount != 2 || t1.MessageCount != 2 ||
		!t1.Request || t1.Done || t1.AccountLinkId != accA.Id || t1.Platform != v1.Platform_PLATFORM_API {
		t.Fatalf("thread user-001A: %+v", t1)
	}
	msgs := a.messages(tid("user-001A"), 1)
	if len(msgs) != 2 || msgs[0].Text != "anyone there?" || msgs[1].Text != "hello from user-001" ||
		msgs[0].Direction != in || msgs[0].Status != "received" || msgs[0].Sender.GetPlatformId() != "user-001" {
		t.Fatalf("messages newest first: %v", msgs)
	}

	// Filters.
	sameSet(t, "account C", ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, AccountLinkId: accC.Id})),
		[]string{tid("user-001C")})
	sameSet(t, "messenger", ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, Platform: v1.Platform_PLATFORM_MESSENGER})),
		[]string{tid("user-006B")})
	sameSet(t, "prospect user-001", ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, ProspectId: th["user-001A"].ProspectId})),
		[]string{tid("user-001A"), tid("user-001C")})

	// Assign: the request becomes an inbox thread; filters by assignee and unassigned.
	call[v1.AssignThreadResponse](a, threadSvc+"AssignThread", &v1.AssignThreadRequest{ThreadId: tid("user-003A"), MemberId: mem.Id})
	sameSet(t, "assignee", ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, AssigneeMemberId: mem.Id})), []string{tid("user-003A")})
	if got := a.thread(tid("user-003A")); got.AssigneeMemberId != mem.Id || got.Request {
		t.Fatalf("assigned thread: %+v", got)
	}
	if n := len(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, Unassigned: true})); n != 7 {
		t.Fatalf("unassigned: %d threads, want 7", n)
	}
	// Tag and status act on the prospect: their first contact is answered.
	call[v1.TagProspectResponse](a, prospectSvc+"TagProspect", &v1.TagProspectRequest{ProspectId: th["user-004A"].ProspectId, TagId: tag.Id})
	call[v1.SetProspectStatusResponse](a, prospectSvc+"SetProspectStatus", &v1.SetProspectStatusRequest{ProspectId: th["user-005A"].ProspectId, StatusId: st.Id})
	sameSet(t, "tag", ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, TagId: tag.Id})), []string{tid("user-004A")})
	sameSet(t, "status", ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, StatusId: st.Id})), []string{tid("user-005A")})
	sameSet(t, "tag+INBOX", ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_INBOX, TagId: tag.Id})), []string{tid("user-004A")})
	sameSet(t, "REQUESTS after acting", view(v1.View_VIEW_REQUESTS), []string{tid("user-001A"), tid("user-006B")})
	p4 := a.thread(tid("user-004A")).Prospect
	if len(p4.Tags) != 1 || p4.Tags[0].Name != "vip" {
		t.Fatalf("thread prospect tags: %+v", p4.Tags)
	}
	if p5 := a.prospect(th["user-005A"].ProspectId); p5.Status.GetId() != st.Id {
		t.Fatalf("prospect status: %+v", p5.Status)
	}
	call[v1.UnassignThreadResponse](a, threadSvc+"UnassignThread", &v1.UnassignThreadRequest{ThreadId: tid("user-003A")})
	if n := len(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, AssigneeMemberId: mem.Id})); n != 0 {
		t.Fatalf("after unassign: %d threads assigned", n)
	}
	call[v1.UntagProspectResponse](a, prospectSvc+"UntagProspect", &v1.UntagProspectRequest{ProspectId: th["user-004A"].ProspectId, TagId: tag.Id})
	if n := len(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, TagId: tag.Id})); n != 0 {
		t.Fatalf("after untag: %d threads tagged", n)
	}

	// Done moves a thread to ARCHIVED; a new inbound message brings it back.
	call[v1.MarkThreadDoneResponse](a, threadSvc+"MarkThreadDone", &v1.MarkThreadDoneRequest{ThreadId: tid("user-002A")})
	sameSet(t, "ARCHIVED", view(v1.View_VIEW_ARCHIVED), []string{tid("user-002A")})
	sameSet(t, "NO_REPLY without done", view(v1.View_VIEW_NO_REPLY), []string{tid("user-007A")})
	a.ingest(msg{accA.Id, pid(2), "a-user-002-back", in, "one more question", at(20)})
	sameSet(t, "ARCHIVED after new message", view(v1.View_VIEW_ARCHIVED), nil)
	if got := a.thread(tid("user-002A")); got.Done || got.LastMessageText != "one more question" {
		t.Fatalf("reopened thread: %+v", got)
	}
	call[v1.MarkThreadDoneResponse](a, threadSvc+"MarkThreadDone", &v1.MarkThreadDoneRequest{ThreadId: tid("user-007A")})
	call[v1.ReopenThreadResponse](a, threadSvc+"ReopenThread", &v1.ReopenThreadRequest{ThreadId: tid("user-007A")})
	if a.thread(tid("user-007A")).Done {
		t.Fatal("ReopenThread left the thread done")
	}

	// Read.
	call[v1.MarkThreadReadResponse](a, threadSvc+"MarkThreadRead", &v1.MarkThreadReadRequest{ThreadId: tid("user-001A")})
	if got := a.thread(tid("user-001A")); got.UnreadCount != 0 || got.MessageCount != 2 {
		t.Fatalf("after read: unread %d, messages %d", got.UnreadCount, got.MessageCount)
	}

	// Prospect context.
	call[v1.UpdateProspectContextResponse](a, prospectSvc+"UpdateProspectContext", &v1.UpdateProspectContextRequest{
		ProspectId: th["user-001A"].ProspectId, Notes: "wants the blue one", Valuation: 1250.5,
		CustomFields: map[string]string{"size": "M", "source": "ads"}})
	p1 := a.prospect(th["user-001A"].ProspectId)
	if p1.Notes != "wants the blue one" || p1.Valuation != 1250.5 || p1.CustomFields["size"] != "M" || len(p1.CustomFields) != 2 {
		t.Fatalf("prospect context: %+v", p1)
	}
	if !p1.FirstSeenAt.AsTime().Equal(at(1)) {
		t.Fatalf("first_seen_at %v, want %v", p1.FirstSeenAt.AsTime(), at(1))
	}

	// Paging: every view walked one thread at a time equals the view in one page.
	for _, v := range []v1.View{v1.View_VIEW_INBOX, v1.View_VIEW_NO_REPLY, v1.View_VIEW_REQUESTS, v1.View_VIEW_ARCHIVED, v1.View_VIEW_ALL} {
		sameSet(t, v.String()+" paged", ids(a.threads(&v1.ListThreadsRequest{View: v, PageSize: 1})),
			ids(a.threads(&v1.ListThreadsRequest{View: v, PageSize: 100})))
	}
	pagingWhileMessagesArrive(t, a, accA.Id)
}

// pagingWhileMessagesArrive walks ALL in pages of 2 while new conversations arrive between
// pages: every thread that existed when the walk began is seen exactly once.
func pagingWhileMessagesArrive(t *testing.T, a api, link string) {
	existing := ids(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL}))
	var seen []string
	req := &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 2}
	for page := 0; ; page++ {
		res := call[v1.ListThreadsResponse](a, listThreads, req)
		seen = append(seen, ids(res.Threads)...)
		if res.NextPageToken == "" {
			break
		}
		a.ingest(msg{link, pid(100 + page), "late-" + pid(100+page), v1.Direction_DIRECTION_INBOUND, "arrived while paging", at(100 + page)})
		req = proto.Clone(req).(*v1.ListThreadsRequest)
		req.PageToken = res.NextPageToken
	}
	sameSet(t, "paging while messages arrive", seen, existing)
}
