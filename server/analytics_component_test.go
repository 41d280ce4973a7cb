package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

const analyticsSvc = "/switchboard.v1.AnalyticsService/"

// testClock is the commands' clock: replies sent and threads marked done at exact times.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// The fixture's days.
var (
	day1 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	day2 = day1.AddDate(0, 0, 1)
)

func hms(day time.Time, h, m, s int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
}

// TestAnalyticsResponseTimes ingests fixture conversations through the real server, replies
// through SendMessage and IngestMessage (with a bot's replies marked automated), marks threads
// done and reopens one, and checks every figure to the second, grouped every way; then it
// restarts the server with another definition version, which recomputes every figure from the
// log, and checks the same figures again. On the embedded engines and on Kafka + PostgreSQL.
func TestAnalyticsResponseTimes(t *testing.T) {
	t.Parallel()
	for _, b := range []struct {
		name string
		cfg  func(t *testing.T) server.Config
	}{
		{"embedded", func(t *testing.T) server.Config { return server.Config{DataDir: t.TempDir()} }},
		{"kafka+postgres", func(t *testing.T) server.Config {
			pg := testenv.PostgresSchema(t)
			_, brokers := testenv.Kafka(t)
			return server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers)}
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{t: day1}
			cfg := b.cfg(t)
			cfg.Now = clock.Now
			s := startServerWith(t, cfg)
			a := api{t, newConnectClient(s.Addr), adminKey}
			f := analyticsFixture(t, a, clock)
			checkAnalytics(t, a, f, "analytics.v2")

			// Change nothing but the definition's version: every figure is dropped and
			// recomputed from the log, and they come out the same. The stored figures are
			// spoiled first, so only a recomputation gets them right.
			stopServer(t, s)
			spoilAnalytics(t, cfg)
			cfg.AnalyticsDefinition = "analytics.v2-rebuilt"
			s = startServerWith(t, cfg)
			a = api{t, newConnectClient(s.Addr), adminKey}
			checkAnalytics(t, a, f, "analytics.v2-rebuilt")
		})
	}
}

// fixture names what analyticsFixture made.
type fixture struct {
	admin, bob     string // member ids
	shop, page     string // account links: API, Messenger
	alice, bruno   string // threads
	alicePrs, brPr string
}

func analyticsFixture(t *testing.T, a api, clock *testClock) fixture {
	t.Helper()
	var f fixture
	members := call[v1.ListMembersResponse](a, teamSvc+"ListMembers", &v1.ListMembersRequest{}).Members
	f.admin = members[0].Id
	f.bob = call[v1.AddMemberResponse](a, teamSvc+"AddMember", &v1.AddMemberRequest{Email: "bob@example.com", Name: "Bob", Role: "agent"}).Member.Id
	bob := a.as(call[v1.CreateApiKeyResponse](a, teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: f.bob}).Key)
	f.shop = a.link(v1.Platform_PLATFORM_API, "shop").Id
	f.page = a.link(v1.Platform_PLATFORM_MESSENGER, "page-1").Id

	ingest := func(a api, link, prospect, id string, dir v1.Direction, at time.Time, automated bool) *v1.IngestMessageResponse {
		t.Helper()
		clock.set(at)
		return call[v1.IngestMessageResponse](a, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{
			AccountLinkId: link, PlatformMessageId: id, Direction: dir, Automated: automated,
			Participant: &v1.Participant{PlatformId: prospect, Username: prospect},
			Text:        "text of " + id, SentAt: timestamppb.New(at),
		})
	}
	in, out := v1.Direction_DIRECTION_INBOUND, v1.Direction_DIRECTION_OUTBOUND

	// Alice, on the API link, day 1. Turn 1: two inbound messages, a bot's answer (excluded),
	// the admin's reply from Switchboard 200 s after the first inbound; another question
	// answered by Bob's integration in 120 s; done by the admin at 10:30.
	r := ingest(a, f.shop, "alice", "a1", in, hms(day1, 10, 0, 0), false)
	f.alice, f.alicePrs = r.ThreadId, r.ProspectId
	ingest(a, f.shop, "alice", "a2", in, hms(day1, 10, 1, 0), false)
	ingest(a, f.shop, "alice", "a-bot", out, hms(day1, 10, 2, 0), true)
	clock.set(hms(day1, 10, 3, 20))
	call[v1.SendMessageResponse](a, threadSvc+"SendMessage", &v1.SendMessageRequest{ThreadId: f.alice, Text: "hello Alice"})
	ingest(a, f.shop, "alice", "a3", in, hms(day1, 10, 10, 0), false)
	ingest(bob, f.shop, "alice", "a-bob", out, hms(day1, 10, 12, 0), false)
	clock.set(hms(day1, 10, 30, 0))
	call[v1.MarkThreadDoneResponse](a, threadSvc+"MarkThreadDone", &v1.MarkThreadDoneRequest{ThreadId: f.alice})
	// Turn 2: she writes again, which reopens the thread; Bob answers in 300 s; still open.
	ingest(a, f.shop, "alice", "a4", in, hms(day1, 11, 0, 0), false)
	ingest(bob, f.shop, "alice", "a-bob-2", out, hms(day1, 11, 5, 0), false)

	// Bruno, on the Messenger link, day 2, brought in reverse order (as a backfill would):
	// figures follow the platform's times, not the order of arrival. Bob answers in 90 s after
	// a bot; Bob marks it done at 09:20.
	ingest(bob, f.page, "bruno", "b-bob", out, hms(day2, 9, 1, 30), false)
	ingest(a, f.page, "bruno", "b-bot", out, hms(day2, 9, 0, 30), true)
	r = ingest(a, f.page, "bruno", "b1", in, hms(day2, 9, 0, 0), false)
	f.bruno, f.brPr = r.ThreadId, r.ProspectId
	clock.set(hms(day2, 9, 20, 0))
	call[v1.MarkThreadDoneResponse](bob, threadSvc+"MarkThreadDone", &v1.MarkThreadDoneRequest{ThreadId: f.bruno})
	return f
}

// stats renders a Stats as count/median/p90 in seconds.
func stats(s *v1.Stats) string {
	if s.GetCount() == 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%s/%s", s.Count, s.Median.AsDuration(), s.P90.AsDuration())
}

func responseTimes(t *testing.T, a api, req *v1.GetResponseTimesRequest, definition string) string {
	t.Helper()
	req.From, req.To = timestamppb.New(day1), timestamppb.New(day2.AddDate(0, 0, 1))
	res := call[v1.GetResponseTimesResponse](a, analyticsSvc+"GetResponseTimes", req)
	if res.Definition != definition {
		t.Errorf("definition %q, want %q", res.Definition, definition)
	}
	var b strings.Builder
	for _, g := range res.Groups {
		fmt.Fprintf(&b, "%s: first %s, reply %s, resolution %s, in %d out %d bot %d\n", g.Key, stats(g.FirstResponse),
			stats(g.Reply), stats(g.Resolution), g.InboundMessages, g.OutboundMessages, g.AutomatedMessages)
	}
	return b.String()
}

func checkAnalytics(t *testing.T, a api, f fixture, definition string) {
	t.Helper()
	for _, c := range []struct {
		name string
		req  *v1.GetResponseTimesRequest
		want string
	}{
		// First responses 200, 300, 90 s; replies 200, 120, 300, 90 s; resolutions 1800, 1200 s.
		// p90 interpolates like percentile_cont: 200 + 0.8 × 100 = 280 s.
		{"all", &v1.GetResponseTimesRequest{},
			": first 3/3m20s/4m40s, reply 4/2m40s/4m30s, resolution 2/25m0s/29m0s, in 5 out 4 bot 2\n"},
		{"by day", &v1.GetResponseTimesRequest{GroupBy: v1.GroupBy_GROUP_BY_DAY},
			"2026-03-02: first 2/4m10s/4m50s, reply 3/3m20s/4m40s, resolution 1/30m0s/30m0s, in 4 out 3 bot 1\n" +
				"2026-03-03: first 1/1m30s/1m30s, reply 1/1m30s/1m30s, resolution 1/20m0s/20m0s, in 1 out 1 bot 1\n"},
		{"by member", &v1.GetResponseTimesRequest{GroupBy: v1.GroupBy_GROUP_BY_MEMBER},
			byKey(f.admin+": first 1/3m20s/3m20s, reply 1/3m20s/3m20s, resolution 1/30m0s/30m0s, in 3 out 2 bot 1\n",
				f.bob+": first 2/3m15s/4m39s, reply 3/2m0s/4m24s, resolution 1/20m0s/20m0s, in 2 out 2 bot 1\n")},
		{"by account link", &v1.GetResponseTimesRequest{GroupBy: v1.GroupBy_GROUP_BY_ACCOUNT_LINK},
			byKey(f.shop+": first 2/4m10s/4m50s, reply 3/3m20s/4m40s, resolution 1/30m0s/30m0s, in 4 out 3 bot 1\n",
				f.page+": first 1/1m30s/1m30s, reply 1/1m30s/1m30s, resolution 1/20m0s/20m0s, in 1 out 1 bot 1\n")},
		{"by platform", &v1.GetResponseTimesRequest{GroupBy: v1.GroupBy_GROUP_BY_PLATFORM},
			"api: first 2/4m10s/4m50s, reply 3/3m20s/4m40s, resolution 1/30m0s/30m0s, in 4 out 3 bot 1\n" +
				"messenger: first 1/1m30s/1m30s, reply 1/1m30s/1m30s, resolution 1/20m0s/20m0s, in 1 out 1 bot 1\n"},
		{"Bob's, on Messenger", &v1.GetResponseTimesRequest{MemberIds: []string{f.bob}, Platforms: []v1.Platform{v1.Platform_PLATFORM_MESSENGER}},
			": first 1/1m30s/1m30s, reply 1/1m30s/1m30s, resolution 1/20m0s/20m0s, in 1 out 1 bot 1\n"},
		{"the shop's", &v1.GetResponseTimesRequest{AccountLinkIds: []string{f.shop}},
			": first 2/4m10s/4m50s, reply 3/3m20s/4m40s, resolution 1/30m0s/30m0s, in 4 out 3 bot 1\n"},
	} {
		if got := responseTimes(t, a, c.req, definition); got != c.want {
			t.Errorf("%s (%s):\n got %s\nwant %s", c.name, definition, got, c.want)
		}
	}

	// Per turn, oldest first, two to a page.
	var turns []string
	token := ""
	for page := 0; ; page++ {
		res := call[v1.ListConversationMetricsResponse](a, analyticsSvc+"ListConversationMetrics", &v1.ListConversationMetricsRequest{
			From: timestamppb.New(day1), To: timestamppb.New(day2.AddDate(0, 0, 1)), PageSize: 2, PageToken: token})
		for _, tu := range res.Turns {
			var replies []string
			for _, r := range tu.Replies {
				replies = append(replies, r.AsDuration().String())
			}
			turns = append(turns, fmt.Sprintf("%s#%d %s %s %s %s first %s by %s (%s), resolved %s by %s, in %d out %d bot %d, replies %v",
				tu.ThreadId, tu.Turn, tu.ProspectId, tu.AccountLinkId, tu.Platform, tu.StartedAt.AsTime().Format(time.RFC3339),
				tu.FirstResponse.AsDuration(), tu.FirstResponderMemberId, tu.FirstResponderKind, tu.Resolution.AsDuration(),
				tu.ResolvedByMemberId, tu.InboundMessages, tu.OutboundMessages, tu.AutomatedMessages, replies))
		}
		if token = res.NextPageToken; token == "" {
			break
		}
		if page > 3 {
			t.Fatal("ListConversationMetrics: no last page")
		}
	}
	want := []string{
		fmt.Sprintf("%s#1 %s %s PLATFORM_API 2026-03-02T10:00:00Z first 3m20s by %s (member), resolved 30m0s by %s, in 3 out 2 bot 1, replies [3m20s 2m0s]",
			f.alice, f.alicePrs, f.shop, f.admin, f.admin),
		fmt.Sprintf("%s#2 %s %s PLATFORM_API 2026-03-02T11:00:00Z first 5m0s by %s (api_key), resolved 0s by , in 1 out 1 bot 0, replies [5m0s]",
			f.alice, f.alicePrs, f.shop, f.bob),
		fmt.Sprintf("%s#1 %s %s PLATFORM_MESSENGER 2026-03-03T09:00:00Z first 1m30s by %s (api_key), resolved 20m0s by %s, in 1 out 1 bot 1, replies [1m30s]",
			f.bruno, f.brPr, f.page, f.bob, f.bob),
	}
	if strings.Join(turns, "\n") != strings.Join(want, "\n") {
		t.Errorf("ListConversationMetrics (%s):\n got %s\nwant %s", definition, strings.Join(turns, "\n"), strings.Join(want, "\n"))
	}

	// Bad input names its field.
	err := a.try(analyticsSvc+"GetResponseTimes", &v1.GetResponseTimesRequest{From: timestamppb.New(day2), To: timestamppb.New(day1)},
		&v1.GetResponseTimesResponse{})
	wantCode(t, "GetResponseTimes with to before from", err, connect.CodeInvalidArgument)
	if err == nil || !strings.Contains(err.Error(), "to") {
		t.Errorf("error %v does not name the field", err)
	}
}

// byKey sorts lines (groups come by key; ids are random).
func byKey(lines ...string) string {
	if lines[0] > lines[1] {
		lines[0], lines[1] = lines[1], lines[0]
	}
	return strings.Join(lines, "")
}

// spoilAnalytics overwrites the stored figures of a stopped server.
func spoilAnalytics(t *testing.T, cfg server.Config) {
	t.Helper()
	const spoil = "UPDATE analytics_turns SET inbound = 99, outbound = 0; DELETE FROM analytics_replies"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cfg.PostgresURL != "" {
		conn, err := pgx.Connect(ctx, cfg.PostgresURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, q := range strings.Split(spoil, "; ") {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	db, err := sql.Open("sqlite", filepath.Join(cfg.DataDir, "readmodel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, spoil); err != nil {
		t.Fatal(err)
	}
}
