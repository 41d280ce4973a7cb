package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// TestBadInput: every bad request gets a clear error naming what is wrong, and appends nothing
// to the log.
func TestBadInput(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testBadInput(t, b.start(t, t.TempDir()))
		})
	}
}

func testBadInput(t *testing.T, s *server.Server) {
	for _, kind := range []string{"connect", "grpc"} {
		c := newConnectClient(s.Addr)
		if kind == "grpc" {
			c = newGRPCClient(t, s.Addr)
		}
		a := api{t, c, adminKey}
		acc := a.link(v1.Platform_PLATFORM_API, "shop-"+kind)
		m := a.ingest(msg{acc.Id, "cust-1", "m1", v1.Direction_DIRECTION_INBOUND, "hello", at(1)})
		call[v1.MarkThreadDoneResponse](a, threadSvc+"MarkThreadDone", &v1.MarkThreadDoneRequest{ThreadId: m.ThreadId})
		in := v1.Direction_DIRECTION_INBOUND
		part := &v1.Participant{PlatformId: "cust-2"}
		const unknownThread = "thr_aaaaaaaaaaaaaaaaaaaaaaaaaa"
		cases := []struct {
			name     string
			key      string
			proc     string
			req, res proto.Message
			code     connect.Code
			field    string // the error must name it
		}{
			{"no key", "", listThreads, &v1.ListThreadsRequest{}, &v1.ListThreadsResponse{}, connect.CodeUnauthenticated, ""},
			{"wrong key", "sb_wrong", listThreads, &v1.ListThreadsRequest{}, &v1.ListThreadsResponse{}, connect.CodeUnauthenticated, ""},
			{"wrong key ingest", "sb_wrong", "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: acc.Id, PlatformMessageId: "z", Direction: in, Participant: part, Text: "x"}, &v1.IngestMessageResponse{}, connect.CodeUnauthenticated, ""},
			{"link without platform", adminKey, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{PlatformId: "x"}, &v1.LinkAccountResponse{}, connect.CodeInvalidArgument, "platform"},
			{"link without platform_id", adminKey, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API}, &v1.LinkAccountResponse{}, connect.CodeInvalidArgument, "platform_id"},
			{"link unknown platform", adminKey, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{Platform: 99, PlatformId: "x"}, &v1.LinkAccountResponse{}, connect.CodeInvalidArgument, "platform"},
			{"ingest without account", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{PlatformMessageId: "z", Direction: in, Participant: part, Text: "x"}, &v1.IngestMessageResponse{}, connect.CodeInvalidArgument, "account_link_id"},
			{"ingest malformed account", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: "nope", PlatformMessageId: "z", Direction: in, Participant: part, Text: "x"}, &v1.IngestMessageResponse{}, connect.CodeInvalidArgument, "account_link_id"},
			{"ingest unknown account", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: "acc_aaaaaaaaaaaaaaaaaaaaaaaaaa", PlatformMessageId: "z", Direction: in, Participant: part, Text: "x"}, &v1.IngestMessageResponse{}, connect.CodeNotFound, ""},
			{"ingest without message id", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: acc.Id, Direction: in, Participant: part, Text: "x"}, &v1.IngestMessageResponse{}, connect.CodeInvalidArgument, "platform_message_id"},
			{"ingest without direction", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: acc.Id, PlatformMessageId: "z", Participant: part, Text: "x"}, &v1.IngestMessageResponse{}, connect.CodeInvalidArgument, "direction"},
			{"ingest without participant", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: acc.Id, PlatformMessageId: "z", Direction: in, Text: "x"}, &v1.IngestMessageResponse{}, connect.CodeInvalidArgument, "participant.platform_id"},
			{"ingest without text", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: acc.Id, PlatformMessageId: "z", Direction: in, Participant: part}, &v1.IngestMessageResponse{}, connect.CodeInvalidArgument, "text"},
			{"ingest bad attachment", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: acc.Id, PlatformMessageId: "z", Direction: in, Participant: part, Attachments: []*v1.Attachment{{Type: "hologram"}}}, &v1.IngestMessageResponse{}, connect.CodeInvalidArgument, "attachments.type"},
			{"ingest ancient sent_at", adminKey, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{AccountLinkId: acc.Id, PlatformMessageId: "z", Direction: in, Participant: part, Text: "x", SentAt: timestamppb.New(time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC))}, &v1.IngestMessageResponse{}, connect.CodeInvalidArgument, "sent_at"},
			{"list bad view", adminKey, listThreads, &v1.ListThreadsRequest{View: 42}, &v1.ListThreadsResponse{}, connect.CodeInvalidArgument, "view"},
			{"list negative page size", adminKey, listThreads, &v1.ListThreadsRequest{PageSize: -1}, &v1.ListThreadsResponse{}, connect.CodeInvalidArgument, "page_size"},
			{"list garbage token", adminKey, listThreads, &v1.ListThreadsRequest{PageToken: "garbage!"}, &v1.ListThreadsResponse{}, connect.CodeInvalidArgument, "page_token"},
			{"list malformed tag", adminKey, listThreads, &v1.ListThreadsRequest{TagId: "vip"}, &v1.ListThreadsResponse{}, connect.CodeInvalidArgument, "tag_id"},
			{"get thread without id", adminKey, threadSvc + "GetThread", &v1.GetThreadRequest{}, &v1.GetThreadResponse{}, connect.CodeInvalidArgument, "thread_id"},
			{"get unknown thread", adminKey, threadSvc + "GetThread", &v1.GetThreadRequest{ThreadId: unknownThread}, &v1.GetThreadResponse{}, connect.CodeNotFound, ""},
			{"assign without member", adminKey, threadSvc + "AssignThread", &v1.AssignThreadRequest{ThreadId: m.ThreadId}, &v1.AssignThreadResponse{}, connect.CodeInvalidArgument, "member_id"},
			{"assign unknown member", adminKey, threadSvc + "AssignThread", &v1.AssignThreadRequest{ThreadId: m.ThreadId, MemberId: "mem_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, &v1.AssignThreadResponse{}, connect.CodeNotFound, ""},
			{"assign unknown thread", adminKey, threadSvc + "AssignThread", &v1.AssignThreadRequest{ThreadId: unknownThread, MemberId: "mem_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, &v1.AssignThreadResponse{}, connect.CodeNotFound, ""},
			{"done twice", adminKey, threadSvc + "MarkThreadDone", &v1.MarkThreadDoneRequest{ThreadId: m.ThreadId}, &v1.MarkThreadDoneResponse{}, connect.CodeFailedPrecondition, ""},
			{"unassign unassigned", adminKey, threadSvc + "UnassignThread", &v1.UnassignThreadRequest{ThreadId: m.ThreadId}, &v1.UnassignThreadResponse{}, connect.CodeFailedPrecondition, ""},
			{"tag without tag", adminKey, prospectSvc + "TagProspect", &v1.TagProspectRequest{ProspectId: m.ProspectId}, &v1.TagProspectResponse{}, connect.CodeInvalidArgument, "tag_id"},
			{"tag unknown tag", adminKey, prospectSvc + "TagProspect", &v1.TagProspectRequest{ProspectId: m.ProspectId, TagId: "tag_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, &v1.TagProspectResponse{}, connect.CodeNotFound, ""},
			{"status unknown", adminKey, prospectSvc + "SetProspectStatus", &v1.SetProspectStatusRequest{ProspectId: m.ProspectId, StatusId: "sts_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, &v1.SetProspectStatusResponse{}, connect.CodeNotFound, ""},
			{"negative valuation", adminKey, prospectSvc + "UpdateProspectContext", &v1.UpdateProspectContextRequest{ProspectId: m.ProspectId, Valuation: -1}, &v1.UpdateProspectContextResponse{}, connect.CodeInvalidArgument, "valuation"},
			{"context without prospect", adminKey, prospectSvc + "UpdateProspectContext", &v1.UpdateProspectContextRequest{Notes: "x"}, &v1.UpdateProspectContextResponse{}, connect.CodeInvalidArgument, "prospect_id"},
			{"tag without name", adminKey, teamSvc + "CreateTag", &v1.CreateTagRequest{Name: "  "}, &v1.CreateTagResponse{}, connect.CodeInvalidArgument, "name"},
			{"tag bad color", adminKey, teamSvc + "CreateTag", &v1.CreateTagRequest{Name: "x", Color: "blue"}, &v1.CreateTagResponse{}, connect.CodeInvalidArgument, "color"},
			{"member bad email", adminKey, teamSvc + "AddMember", &v1.AddMemberRequest{Email: "not-an-email"}, &v1.AddMemberResponse{}, connect.CodeInvalidArgument, "email"},
			{"member bad role", adminKey, teamSvc + "AddMember", &v1.AddMemberRequest{Email: "a@b.co", Role: "god"}, &v1.AddMemberResponse{}, connect.CodeInvalidArgument, "role"},
			{"status negative position", adminKey, teamSvc + "CreateStatus", &v1.CreateStatusRequest{Name: "x", Position: -2}, &v1.CreateStatusResponse{}, connect.CodeInvalidArgument, "position"},
			{"key for unknown member", adminKey, teamSvc + "CreateApiKey", &v1.CreateApiKeyRequest{MemberId: "mem_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, &v1.CreateApiKeyResponse{}, connect.CodeNotFound, ""},
			{"team without name", adminKey, teamSvc + "CreateTeam", &v1.CreateTeamRequest{}, &v1.CreateTeamResponse{}, connect.CodeInvalidArgument, "name"},
			{"events bad position", adminKey, "/switchboard.v1.EventService/ListEvents", &v1.ListEventsRequest{AfterPosition: "yesterday"}, &v1.ListEventsResponse{}, connect.CodeInvalidArgument, "after_position"},
		}
		ctx := context.Background()
		for _, c := range cases {
			before, err := s.EventLog().Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = a.as(c.key).try(c.proc, c.req, c.res)
			wantCode(t, kind+" "+c.name, err, c.code)
			if c.field != "" && !strings.Contains(messageOf(err), c.field) {
				t.Errorf("%s %s: error %q does not name %q", kind, c.name, messageOf(err), c.field)
			}
			if err != nil && strings.Contains(strings.ToLower(messageOf(err)), "sql") {
				t.Errorf("%s %s: error leaks an internal detail: %q", kind, c.name, messageOf(err))
			}
			after, err := s.EventLog().Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after.String() != before.String() {
				t.Errorf("%s %s: the log moved from %s to %s", kind, c.name, before, after)
			}
		}
	}
}
