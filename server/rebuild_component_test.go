package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// snapshot is everything a client can read of the team, in a comparable form.
func snapshot(a api) []proto.Message {
	var out []proto.Message
	for _, v := range []v1.View{v1.View_VIEW_INBOX, v1.View_VIEW_NO_REPLY, v1.View_VIEW_REQUESTS, v1.View_VIEW_ARCHIVED, v1.View_VIEW_ALL} {
		threads := a.threads(&v1.ListThreadsRequest{View: v, PageSize: 100})
		out = append(out, &v1.ListThreadsResponse{Threads: threads})
		if v == v1.View_VIEW_ALL {
			for _, t := range threads {
				out = append(out, &v1.ListMessagesResponse{Messages: a.messages(t.Id, 100)})
				out = append(out, a.prospect(t.Prospect.Id))
			}
		}
	}
	out = append(out,
		call[v1.ListTagsResponse](a, teamSvc+"ListTags", &v1.ListTagsRequest{}),
		call[v1.ListStatusesResponse](a, teamSvc+"ListStatuses", &v1.ListStatusesRequest{}),
		call[v1.ListMembersResponse](a, teamSvc+"ListMembers", &v1.ListMembersRequest{}),
		call[v1.ListAccountLinksResponse](a, "/switchboard.v1.AccountService/ListAccountLinks", &v1.ListAccountLinksRequest{}),
	)
	return out
}

// TestReadModelRebuild: deleting the read model and restarting rebuilds it from the log with
// identical results, and a plain restart changes nothing either.
func TestReadModelRebuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	a := api{t, newConnectClient(s.Addr), adminKey}
	inboxScenario(t, a)
	before := snapshot(a)
	stopServer(t, s)

	s = startServer(t, dir)
	a = api{t, newConnectClient(s.Addr), adminKey}
	compare(t, "after restart", before, snapshot(a))
	stopServer(t, s)

	for _, f := range []string{"readmodel.db", "readmodel.db-wal", "readmodel.db-shm"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s = startServer(t, dir)
	a = api{t, newConnectClient(s.Addr), adminKey}
	compare(t, "after rebuild", before, snapshot(a))
}

func compare(t *testing.T, when string, want, got []proto.Message) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d results, want %d", when, len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			t.Errorf("%s: result %d differs:\nwant %v\ngot  %v", when, i, want[i], got[i])
		}
	}
}
