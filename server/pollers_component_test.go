package server_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky/blueskytest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit/reddittest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// TestPollers drives the Bluesky and Reddit pollers through the real server, against fake
// platform APIs serving the shared captures: linked accounts fill the inbox; a restart resumes
// at the stored cursors without duplicating anything; refused credentials turn the links
// inactive, with a reason, once.
func TestPollers(t *testing.T) {
	t.Parallel()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		pcPollers(t, server.Config{DataDir: t.TempDir()})
	})
	t.Run("kafka+postgres", func(t *testing.T) {
		t.Parallel()
		pg := testenv.PostgresSchema(t)
		_, brokers := testenv.Kafka(t)
		pcPollers(t, server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers)})
	})
}

func pcPollers(t *testing.T, cfg server.Config) {
	blue := blueskytest.New(t, polltest.FixtureDir(t, "bluesky"))
	redditDir := polltest.FixtureDir(t, "reddit")
	red := reddittest.New(t, redditDir)
	cfg.PollInterval = 100 * time.Millisecond
	cfg.PlatformBaseURLs = platforms.BaseURLs{"bluesky": blue.URL, "reddit": red.URL}
	s := startServerWith(t, cfg)
	a := api{t, newConnectClient(s.Addr), adminKey}

	bl := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_BLUESKY, PlatformId: blueskytest.DID, Username: blueskytest.Identifier,
		Credentials: map[string]string{"identifier": blueskytest.Identifier, "app_password": blueskytest.AppPassword}}).AccountLink
	rl := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_REDDIT, PlatformId: reddittest.Username, Username: reddittest.Username,
		Credentials: map[string]string{"client_id": reddittest.ClientID, "client_secret": reddittest.ClientSecret,
			"refresh_token": reddittest.RefreshToken}}).AccountLink

	// Bluesky: 18 messages in 4 convos (backfilled, then the log from its head: the same
	// messages twice, recorded once). Reddit: the newest page of the inbox, 62 messages in 44
	// threads.
	blueThreads := pcWaitThreads(t, a, bl.Id, 4, 18)
	redThreads := pcWaitThreads(t, a, rl.Id, 44, 62)

	barry := blueThreads["3kt4jgm5nc32q"]
	if barry == nil || barry.Prospect.GetUsername() != "blowdart.me" || barry.Prospect.GetDisplayName() != "Barry Dorrans" ||
		barry.MessageCount != 13 || barry.LastMessageText != "Embedded post test" ||
		barry.LastMessageDirection != v1.Direction_DIRECTION_OUTBOUND {
		t.Fatalf("Bluesky direct thread: %+v", barry)
	}
	msgs := a.messages(barry.Id, 50)
	dirs := map[v1.Direction]int{}
	for _, m := range msgs {
		dirs[m.Direction]++
	}
	if len(msgs) != 13 || dirs[v1.Direction_DIRECTION_OUTBOUND] != 7 || dirs[v1.Direction_DIRECTION_INBOUND] != 6 {
		t.Fatalf("Bluesky direct thread: %d messages, %v", len(msgs), dirs)
	}
	first := msgs[len(msgs)-1] // newest first
	if first.Text != "You smell funny" || first.Direction != v1.Direction_DIRECTION_INBOUND || first.PlatformId != "3l7dmb2oa4p26" ||
		first.Sender.GetUsername() != "blowdart.me" || !first.SentAt.AsTime().Equal(time.Date(2024, 10, 25, 12, 49, 50, 984e6, time.UTC)) {
		t.Fatalf("first Bluesky message: %+v", first)
	}
	if g := blueThreads["3moh3ak5nq32s"]; g == nil || g.MessageCount != 1 || g.Prospect.GetUsername() != "anotherbot.idunno.blue" ||
		g.LastMessageText != "This is a group chat" {
		t.Fatalf("Bluesky group thread: %+v", g)
	}

	bot := redThreads["t4_22ydk2c"]
	if bot == nil || bot.Prospect.GetUsername() != "UnExplanationBot" || bot.MessageCount != 2 ||
		bot.LastMessageDirection != v1.Direction_DIRECTION_INBOUND {
		t.Fatalf("Reddit thread: %+v", bot)
	}
	msgs = a.messages(bot.Id, 10)
	if len(msgs) != 2 || msgs[0].PlatformId != "t4_22ydkme" || msgs[1].PlatformId != "t4_22ydk2c" ||
		!strings.HasPrefix(msgs[1].Text, "Thank you for posting to r/Lil_SpazTest") {
		t.Fatalf("Reddit thread messages: %+v", msgs)
	}
	if m := redThreads["t4_2r17c8r"]; m == nil || m.Prospect.GetUsername() != "Lil_SpazTest" || m.LastMessageText != "test" {
		t.Fatalf("Reddit PM thread: %+v", m)
	}
	events := pcCountEvents(a)
	if events["message.received.v1"] != 18+62 || events["platform.unhandled.v1"] != 66+2 {
		t.Fatalf("events by type: %v", events)
	}

	// Restart: new messages meanwhile; polling resumes at the stored cursors.
	stopServer(t, s)
	blueSeen, redSeen := len(blue.Requests()), len(red.Requests())
	blue.AddLog(t, `{"$type":"chat.bsky.convo.defs#logCreateMessage","rev":"2222224ssuhx9","convoId":"3kt4jgm5nc32q",`+
		`"message":{"$type":"chat.bsky.convo.defs#messageView","id":"3mpzzzzzzzz2a","rev":"2222224ssuhx9",`+
		`"sender":{"did":"did:plc:hfgp6pj3akhqxntgqwramlbg"},"text":"Still there?","sentAt":"2026-07-01T09:00:00.000Z"}}`)
	red.Receive(t, reddittest.Things(t, filepath.Join(redditDir, "message_by_id_subreddit_pm.praw_cassette.json"))...)
	s = startServerWith(t, cfg)
	a = api{t, newConnectClient(s.Addr), adminKey}
	blueThreads = pcWaitThreads(t, a, bl.Id, 4, 19)
	redThreads = pcWaitThreads(t, a, rl.Id, 45, 63)
	if barry := blueThreads["3kt4jgm5nc32q"]; barry.LastMessageText != "Still there?" || barry.LastMessageDirection != v1.Direction_DIRECTION_INBOUND {
		t.Fatalf("after the restart, Bluesky thread: %+v", barry)
	}
	if sub := redThreads["t4_30rhflk"]; sub == nil || sub.Prospect.GetUsername() != "Lil_SpazTest" {
		t.Fatalf("after the restart, Reddit thread: %+v", sub)
	}
	var logCursors []string
	for _, r := range blue.Requests()[blueSeen:] {
		switch r.NSID {
		case "chat.bsky.convo.getLog":
			logCursors = append(logCursors, r.Query["cursor"])
		case "chat.bsky.convo.listConvos", "chat.bsky.convo.getMessages":
			t.Errorf("after the restart, Bluesky was backfilled again (%s)", r.NSID)
		}
	}
	if len(logCursors) == 0 || logCursors[0] != blueskytest.CapturedCursor {
		t.Fatalf("after the restart, getLog cursors %v; want the stored %s first", logCursors, blueskytest.CapturedCursor)
	}
	for _, r := range red.Requests()[redSeen:] {
		if r.Path == "/message/inbox" {
			if r.Query["before"] != "t1_myngt77" {
				t.Fatalf("after the restart, the first inbox read was %v; want before the stored t1_myngt77", r.Query)
			}
			break
		}
	}
	events = pcCountEvents(a)
	if events["message.received.v1"] != 19+63 || events["platform.unhandled.v1"] != 66+2 {
		t.Fatalf("after the restart, events by type: %v (a repeat was recorded twice)", events)
	}

	// The platforms refuse the credentials: the links turn inactive, with a reason, once.
	blue.Revoke()
	red.Revoke()
	links := pcWaitLinks(t, a, func(l map[string]*v1.AccountLink) bool { return !l[bl.Id].Active && !l[rl.Id].Active })
	if r := links[bl.Id].HealthReason; !strings.Contains(r, "AuthenticationRequired") || strings.Contains(r, blueskytest.AppPassword) {
		t.Errorf("Bluesky health reason %q", r)
	}
	if r := links[rl.Id].HealthReason; !strings.Contains(r, "invalid_grant") || strings.Contains(r, reddittest.RefreshToken) {
		t.Errorf("Reddit health reason %q", r)
	}
	time.Sleep(5 * cfg.PollInterval) // polls that would repeat the report, had the links not stopped
	if n := pcCountEvents(a)["account.health_changed.v1"]; n != 2 {
		t.Fatalf("%d account.health_changed events, want one per link", n)
	}
}

// pcWaitThreads waits until a link's threads (every view) hold wantMsgs messages in wantThreads
// threads, and returns them by platform id.
func pcWaitThreads(t *testing.T, a api, linkID string, wantThreads int, wantMsgs int32) map[string]*v1.Thread {
	t.Helper()
	var threads []*v1.Thread
	var msgs int32
	deadline := time.Now().Add(20 * time.Second)
	for {
		threads = a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL, AccountLinkId: linkID, PageSize: 100})
		msgs = 0
		for _, th := range threads {
			msgs += th.MessageCount
		}
		if len(threads) == wantThreads && msgs == wantMsgs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("link %s: %d threads, %d messages; want %d and %d", linkID, len(threads), msgs, wantThreads, wantMsgs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := map[string]*v1.Thread{}
	for _, th := range threads {
		out[th.PlatformId] = th
	}
	return out
}

func pcWaitLinks(t *testing.T, a api, ok func(map[string]*v1.AccountLink) bool) map[string]*v1.AccountLink {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := call[v1.ListAccountLinksResponse](a, "/switchboard.v1.AccountService/ListAccountLinks", &v1.ListAccountLinksRequest{})
		links := map[string]*v1.AccountLink{}
		for _, l := range res.AccountLinks {
			links[l.Id] = l
		}
		if ok(links) {
			return links
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(res.AccountLinks)
			t.Fatalf("account links never reached the expected state: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pcCountEvents(a api) map[string]int {
	out := map[string]int{}
	for _, e := range a.events() {
		out[e.Type]++
	}
	return out
}
