package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
	"github.com/switchboard-oss/switchboard/server"
)

// TestPositionsAreTeamTokens: two teams ingest interleaved messages, B three times as many as
// A. Every position A receives is an opaque token of A's own: nothing in it (its text, its
// length) says how many events B wrote between A's, B's calls refuse it, and it still gives
// A read-your-writes, ListEvents paging and StreamEvents resumption, on both engines.
func TestPositionsAreTeamTokens(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.start(t, t.TempDir())
			admin := api{t, newConnectClient(s.Addr), adminKey}
			teamA := call[v1.CreateTeamResponse](admin, teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "Team A"})
			teamB := call[v1.CreateTeamResponse](admin, teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "Team B"})
			a, bb := admin.as(teamA.OwnerKey), admin.as(teamB.OwnerKey)
			linkA, linkB := a.link(v1.Platform_PLATFORM_API, "shop-a"), bb.link(v1.Platform_PLATFORM_API, "shop-b")

			var posA []string
			at := time.Now().Add(-time.Hour)
			for i := range 12 {
				r := a.ingest(msg{link: linkA.Id, prospect: fmt.Sprintf("a-cust-%d", i%3), id: fmt.Sprintf("a-%d", i),
					dir: v1.Direction_DIRECTION_INBOUND, text: fmt.Sprintf("hello from a %d", i), at: at})
				posA = append(posA, r.Position)
				for j := range 3 {
					bb.ingest(msg{link: linkB.Id, prospect: "b-cust", id: fmt.Sprintf("b-%d-%d", i, j),
						dir: v1.Direction_DIRECTION_INBOUND, text: "busy b", at: at})
				}
			}

			// The tokens: no raw position, all distinct, all of one length. Underneath (the
			// server's own codec, which no client has) the offsets do jump by B's volume:
			// exactly what raw positions showed.
			raw := regexp.MustCompile(`^\d+-\d+$`)
			teamOfA := teamA.TeamId
			var offsets []int64
			for i, p := range posA {
				if p == "" || raw.MatchString(p) || strings.Contains(p, ",") {
					t.Fatalf("IngestMessage %d answered position %q: want an opaque token", i, p)
				}
				if len(p) != len(posA[0]) {
					t.Errorf("token lengths differ (%d, %d): they follow the offsets", len(posA[0]), len(p))
				}
				if slices.Contains(posA[:i], p) {
					t.Errorf("token %d repeats an earlier one", i)
				}
				c, err := s.Positions().Decode(teamOfA, "position", p)
				if err != nil || len(c) != 1 {
					t.Fatalf("the server cannot open A's token %d: %v %v", i, c, err)
				}
				for _, off := range c {
					offsets = append(offsets, off)
				}
			}
			if b.name == "embedded" && offsets[len(offsets)-1]-offsets[0] < 3*int64(len(offsets)-1) {
				t.Errorf("A's offsets %v do not show B's events in between: the test proves nothing", offsets)
			}

			// A's token in B's calls: InvalidArgument naming the field or header, nothing done.
			eventsB := len(bb.events())
			for _, c := range []struct {
				name, procedure, body string
				header                bool
				names                 string
			}{
				{"ListEvents after A's position", "EventService/ListEvents", fmt.Sprintf(`{"afterPosition":%q}`, posA[3]), false, "after_position"},
				{"ListThreads with A's consistency token", "ThreadService/ListThreads", `{}`, true, connectrpc.ConsistencyHeader},
				{"IngestMessage with A's consistency token", "IngestService/IngestMessage", fmt.Sprintf(`{"accountLinkId":%q,
					"platformMessageId":"b-refused","direction":"DIRECTION_INBOUND","participant":{"platformId":"b-cust"},"text":"x"}`, linkB.Id),
					true, connectrpc.ConsistencyHeader},
			} {
				headers := map[string]string{}
				if c.header {
					headers[connectrpc.ConsistencyHeader] = posA[3]
				}
				code, got := jsonCallAs(t, s.Addr, teamB.OwnerKey, "/switchboard.v1."+c.procedure, c.body, headers)
				if msg, _ := got.body["message"].(string); code != 400 || got.body["code"] != "invalid_argument" || !strings.Contains(msg, c.names) {
					t.Errorf("%s as B: %d %v, want invalid_argument naming %s", c.name, code, got.body, c.names)
				}
			}
			if n := len(bb.events()); n != eventsB {
				t.Errorf("B's refused calls appended %d events", n-eventsB)
			}
			if _, err := streamAfter(t, s.Addr, teamB.OwnerKey, posA[3], 1, nil); connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "after_position") {
				t.Errorf("StreamEvents as B after A's position: %v, want invalid_argument naming after_position", err)
			}

			// Read-your-writes: a fresh token, several merged (comma-separated), and the one
			// token the answer carries back.
			r := a.ingest(msg{link: linkA.Id, prospect: "a-cust-new", id: "a-fresh", dir: v1.Direction_DIRECTION_INBOUND, text: "read me back", at: at})
			for name, tok := range map[string]string{"its own token": r.Position, "three tokens": posA[0] + ", " + r.Position + "," + posA[5]} {
				code, got := jsonCallAs(t, s.Addr, teamA.OwnerKey, "/switchboard.v1.ThreadService/GetThread",
					fmt.Sprintf(`{"thread_id":%q}`, r.ThreadId), map[string]string{connectrpc.ConsistencyHeader: tok})
				if th, _ := got.body["thread"].(map[string]any); code != 200 || th["lastMessageText"] != "read me back" {
					t.Fatalf("GetThread with %s: %d %v, want the message just ingested", name, code, got.body)
				}
				merged := got.header.Get(connectrpc.ConsistencyHeader)
				if merged == "" || strings.Contains(merged, ",") {
					t.Fatalf("GetThread with %s answered %s %q, want one merged token", name, connectrpc.ConsistencyHeader, merged)
				}
				if c, err := s.Positions().Decode(teamOfA, "h", merged); err != nil || !c.Covers(mustDecode(t, s, teamOfA, r.Position)) {
					t.Errorf("the merged token %v does not cover the write: %v", c, err)
				}
			}

			// ListEvents pages of 5 give every A event once, in order, and only A's.
			all := call[v1.ListEventsResponse](a, "/switchboard.v1.EventService/ListEvents", &v1.ListEventsRequest{PageSize: 1000}).Events
			var paged []string
			for after, pages := "", 0; ; pages++ {
				res := call[v1.ListEventsResponse](a, "/switchboard.v1.EventService/ListEvents", &v1.ListEventsRequest{AfterPosition: after, PageSize: 5})
				if len(res.Events) == 0 {
					break
				}
				for _, e := range res.Events {
					paged = append(paged, e.EventId)
					if strings.Contains(fmt.Sprint(e.Data.AsMap()), "busy b") {
						t.Fatalf("A listed B's event %s", e.EventId)
					}
				}
				if raw.MatchString(res.NextPosition) || res.NextPosition == after {
					t.Fatalf("next_position %q: want a new opaque token", res.NextPosition)
				}
				after = res.NextPosition
				if pages > 100 {
					t.Fatal("paging does not end")
				}
			}
			var ids []string
			for _, e := range all {
				ids = append(ids, e.EventId)
			}
			if len(all) < 13 || !slices.Equal(paged, ids) {
				t.Fatalf("pages of 5 listed %d events, one page of 1000 %d: they differ", len(paged), len(ids))
			}

			// StreamEvents from an event's position: the rest of the history, then live events.
			k := len(all) / 2
			var live string
			got, err := streamAfter(t, s.Addr, teamA.OwnerKey, all[k].Position, len(all)-k-1, func() {
				bb.ingest(msg{link: linkB.Id, prospect: "b-cust", id: "b-live", dir: v1.Direction_DIRECTION_INBOUND, text: "busy b", at: at})
				live = a.ingest(msg{link: linkA.Id, prospect: "a-cust-1", id: "a-live", dir: v1.Direction_DIRECTION_INBOUND, text: "live", at: at}).ThreadId
			})
			if err != nil || len(got) != len(all)-k || !slices.Equal(got[:len(all)-k-1], ids[k+1:]) || live == "" {
				t.Fatalf("StreamEvents after event %d's position: %v %v, want %v then the live message", k, got, err, ids[k+1:])
			}
		})
	}
}

func mustDecode(t *testing.T, s interface {
	Positions() *connectrpc.Positions
}, teamID, tok string) eventlog.Cursor {
	t.Helper()
	c, err := s.Positions().Decode(teamID, "position", tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type jsonAnswer struct {
	body   map[string]any
	header http.Header
}

// jsonCallAs posts body to procedure as key over Connect JSON with extra headers.
func jsonCallAs(t *testing.T, addr, key, procedure, body string, headers map[string]string) (int, jsonAnswer) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+procedure, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := jsonAnswer{body: map[string]any{}, header: res.Header}
	if err := json.NewDecoder(res.Body).Decode(&out.body); err != nil {
		t.Fatalf("%s: %d, not JSON: %v", procedure, res.StatusCode, err)
	}
	return res.StatusCode, out
}

// streamAfter opens StreamEvents as key after tok and returns the ids of the first n events;
// with then, it calls then and returns one event more.
func streamAfter(t *testing.T, addr, key, tok string, n int, then func()) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events := switchboardv1connect.NewEventServiceClient(http.DefaultClient, "http://"+addr)
	req := connect.NewRequest(&v1.StreamEventsRequest{AfterPosition: tok})
	req.Header().Set("Authorization", "Bearer "+key)
	stream, err := events.StreamEvents(ctx, req)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	var ids []string
	for len(ids) < n && stream.Receive() {
		ids = append(ids, stream.Msg().EventId)
	}
	if len(ids) == n && then != nil {
		then()
		if n++; stream.Receive() {
			ids = append(ids, stream.Msg().EventId)
		}
	}
	if len(ids) < n {
		return ids, stream.Err()
	}
	return ids, nil
}

// TestPositionTokensAcrossProcesses: two processes of one deployment (Kafka and PostgreSQL
// shared, each its own data folder, so its own secret.key, and no SWITCHBOARD_SECRET_KEY)
// accept each other's tokens: the key is the deployment's, kept in PostgreSQL.
func TestPositionTokensAcrossProcesses(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers)})
	w := startServerWith(t, server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers),
		Roles: []string{server.RoleAPI, server.RoleIngest}})
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := a.link(v1.Platform_PLATFORM_API, "two-process-shop")

	for i := range 3 {
		body := fmt.Sprintf(`{"accountLinkId":%q,"platformMessageId":"tp-%d","direction":"DIRECTION_INBOUND",
			"participant":{"platformId":"tp-cust"},"text":"via the other process %d"}`, link.Id, i, i)
		code, ing := jsonCallAs(t, w.Addr, adminKey, "/switchboard.v1.IngestService/IngestMessage", body, nil)
		pos, _ := ing.body["position"].(string)
		if code != 200 || pos == "" {
			t.Fatalf("IngestMessage on the ingest process: %d %v", code, ing.body)
		}
		code, got := jsonCallAs(t, s.Addr, adminKey, "/switchboard.v1.ThreadService/GetThread",
			fmt.Sprintf(`{"thread_id":%q}`, ing.body["threadId"]), map[string]string{connectrpc.ConsistencyHeader: pos})
		if th, _ := got.body["thread"].(map[string]any); code != 200 || th["lastMessageText"] != fmt.Sprintf("via the other process %d", i) {
			t.Fatalf("GetThread on the other process with the ingest's token: %d %v, want the message", code, got.body)
		}
	}
	// Paging through the two processes in turn lists every event once.
	want := len(a.events())
	seen := map[string]bool{}
	for after, i := "", 0; ; i++ {
		addr := []string{s.Addr, w.Addr}[i%2]
		code, page := jsonCallAs(t, addr, adminKey, "/switchboard.v1.EventService/ListEvents",
			fmt.Sprintf(`{"afterPosition":%q,"pageSize":4}`, after), nil)
		events, _ := page.body["events"].([]any)
		if code != 200 {
			t.Fatalf("ListEvents page %d on process %d: %d %v", i, i%2, code, page.body)
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			id, _ := e.(map[string]any)["eventId"].(string)
			if seen[id] {
				t.Fatalf("event %s listed twice", id)
			}
			seen[id] = true
		}
		after, _ = page.body["nextPosition"].(string)
	}
	if len(seen) != want {
		t.Errorf("paging across both processes listed %d events, want %d", len(seen), want)
	}
}
