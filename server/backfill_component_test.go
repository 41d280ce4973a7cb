package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// TestKafkaStreamIndexLost: the Kafka stream index (which the write model reads aggregates
// through) is dropped between two runs, as a new or lost database would be; the restarted
// server rebuilds it from the topic before it serves, so commands on the old team and threads
// see every older event: the views are unchanged, an existing tag name is still refused, and
// old threads take new commands.
func TestKafkaStreamIndexLost(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	cfg := server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers)}
	s := startServerWith(t, cfg)
	a := api{t, newConnectClient(s.Addr), adminKey}
	inboxScenario(t, a)
	before := snapshot(a)
	stopServer(t, s)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DROP TABLE stream_index, event_index, stream_index_marks`); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	s = startServerWith(t, cfg)
	a = api{t, newConnectClient(s.Addr), adminKey}
	compare(t, "after the index was rebuilt", before, snapshot(a))

	// The team's stream has its older events: the tag made before is known.
	err = a.try(teamSvc+"CreateTag", &v1.CreateTagRequest{Name: "vip", Color: "#00ff00"}, &v1.CreateTagResponse{})
	wantCode(t, "CreateTag with the name of a tag made before the index was lost", err, connect.CodeAlreadyExists)

	// Old threads take commands, judged on their whole history.
	members := call[v1.ListMembersResponse](a, teamSvc+"ListMembers", &v1.ListMembersRequest{}).Members
	all := a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100})
	if len(all) == 0 || len(members) == 0 {
		t.Fatalf("%d threads and %d members after the restart", len(all), len(members))
	}
	for _, th := range all {
		call[v1.AssignThreadResponse](a, threadSvc+"AssignThread", &v1.AssignThreadRequest{ThreadId: th.Id, MemberId: members[0].Id})
	}
	waitFor(t, "every old thread assigned", func() bool {
		return len(a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, AssigneeMemberId: members[0].Id, PageSize: 100})) == len(all)
	})
}
