package server_test

import (
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// TestTenantIsolation: a second team's key sees none of the first team's data and gets
// NotFound for its ids, as if they did not exist.
func TestTenantIsolation(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testTenantIsolation(t, b.start(t, t.TempDir()))
		})
	}
}

func testTenantIsolation(t *testing.T, s *server.Server) {
	a := api{t, newConnectClient(s.Addr), adminKey}
	acc := a.link(v1.Platform_PLATFORM_API, "shop")
	m := a.ingest(msg{acc.Id, "cust-1", "m1", v1.Direction_DIRECTION_INBOUND, "private to team one", at(1)})
	tag := call[v1.CreateTagResponse](a, teamSvc+"CreateTag", &v1.CreateTagRequest{Name: "vip"}).Tag
	owner := call[v1.ListMembersResponse](a, teamSvc+"ListMembers", &v1.ListMembersRequest{}).Members[0]

	team2 := call[v1.CreateTeamResponse](a, teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "second"})
	if team2.OwnerKey == "" || team2.TeamId == "" || team2.OwnerMemberId == "" {
		t.Fatalf("CreateTeam: %+v", team2)
	}
	b := a.as(team2.OwnerKey)
	// The second team's owner may not create teams: that is the instance admin's.
	wantCode(t, "CreateTeam by a team owner", b.try(teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "third"}, &v1.CreateTeamResponse{}), connect.CodePermissionDenied)

	for _, v := range []v1.View{v1.View_VIEW_INBOX, v1.View_VIEW_NO_REPLY, v1.View_VIEW_REQUESTS, v1.View_VIEW_ARCHIVED, v1.View_VIEW_ALL} {
		if got := b.threads(&v1.ListThreadsRequest{View: v}); len(got) != 0 {
			t.Errorf("team two sees %d threads in %v", len(got), v)
		}
	}
	if got := b.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, AccountLinkId: acc.Id}); len(got) != 0 {
		t.Errorf("team two filters by team one's account link and sees %d threads", len(got))
	}
	notFound := []struct {
		proc     string
		req, res proto.Message
	}{
		{threadSvc + "GetThread", &v1.GetThreadRequest{ThreadId: m.ThreadId}, &v1.GetThreadResponse{}},
		{threadSvc + "ListMessages", &v1.ListMessagesRequest{ThreadId: m.ThreadId}, &v1.ListMessagesResponse{}},
		{threadSvc + "AssignThread", &v1.AssignThreadRequest{ThreadId: m.ThreadId, MemberId: team2.OwnerMemberId}, &v1.AssignThreadResponse{}},
		{threadSvc + "MarkThreadDone", &v1.MarkThreadDoneRequest{ThreadId: m.ThreadId}, &v1.MarkThreadDoneResponse{}},
		{threadSvc + "MarkThreadRead", &v1.MarkThreadReadRequest{ThreadId: m.ThreadId}, &v1.MarkThreadReadResponse{}},
		{prospectSvc + "GetProspect", &v1.GetProspectRequest{ProspectId: m.ProspectId}, &v1.GetProspectResponse{}},
		{prospectSvc + "UpdateProspectContext", &v1.UpdateProspectContextRequest{ProspectId: m.ProspectId, Notes: "x"}, &v1.UpdateProspectContextResponse{}},
		{teamSvc + "DeleteTag", &v1.DeleteTagRequest{TagId: tag.Id}, &v1.DeleteTagResponse{}},
		{teamSvc + "CreateApiKey", &v1.CreateApiKeyRequest{MemberId: owner.Id}, &v1.CreateApiKeyResponse{}},
		{"/switchboard.v1.AccountService/UnlinkAccount", &v1.UnlinkAccountRequest{AccountLinkId: acc.Id}, &v1.UnlinkAccountResponse{}},
		{"/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: acc.Id, PlatformMessageId: "x",
			Direction: v1.Direction_DIRECTION_INBOUND, Participant: &v1.Participant{PlatformId: "p"}, Text: "hi"}, &v1.IngestMessageResponse{}},
	}
	for _, c := range notFound {
		err := b.try(c.proc, c.req, c.res)
		wantCode(t, c.proc, err, connect.CodeNotFound)
		if err != nil && strings.Contains(messageOf(err), "team") {
			t.Errorf("%s: the error mentions a team: %q", c.proc, messageOf(err))
		}
	}
	for _, list := range []struct {
		proc     string
		req, res proto.Message
		n        func(proto.Message) int
	}{
		{teamSvc + "ListTags", &v1.ListTagsRequest{}, &v1.ListTagsResponse{}, func(m proto.Message) int { return len(m.(*v1.ListTagsResponse).Tags) }},
		{"/switchboard.v1.AccountService/ListAccountLinks", &v1.ListAccountLinksRequest{}, &v1.ListAccountLinksResponse{}, func(m proto.Message) int { return len(m.(*v1.ListAccountLinksResponse).AccountLinks) }},
		{prospectSvc + "ListProspects", &v1.ListProspectsRequest{}, &v1.ListProspectsResponse{}, func(m proto.Message) int { return len(m.(*v1.ListProspectsResponse).Prospects) }},
		{teamSvc + "ListMembers", &v1.ListMembersRequest{}, &v1.ListMembersResponse{}, func(m proto.Message) int { return len(m.(*v1.ListMembersResponse).Members) }},
	} {
		if err := b.try(list.proc, list.req, list.res); err != nil {
			t.Fatalf("%s: %v", list.proc, err)
		}
		want := 0
		if strings.HasSuffix(list.proc, "ListMembers") {
			want = 1 // its own owner
		}
		if got := list.n(list.res); got != want {
			t.Errorf("%s: team two sees %d, want %d", list.proc, got, want)
		}
	}
	for _, e := range b.events() {
		if strings.Contains(e.Data.String(), m.MessageId) || strings.Contains(e.Data.String(), "private to team one") {
			t.Errorf("team two's event history holds team one's data: %v", e)
		}
	}
	// And team one still sees its own.
	if got := a.thread(m.ThreadId); got.LastMessageText != "private to team one" {
		t.Fatalf("team one's thread: %+v", got)
	}
}
