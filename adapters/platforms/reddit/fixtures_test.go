package reddit

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit/reddittest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/domain"
)

// fixtures says what every file of fixtures/platforms/reddit must produce for the account
// "<USERNAME>" (PRAW's sanitized name of the recording account).
var fixtures = map[string]func(t *testing.T, b []byte){
	// What /message/inbox answers (the capture is /message/unread: the same Listing).
	"message_unread_listing.praw_cassette.json": checkUnreadListing,
	// A PM to a subreddit the account moderates: inbound from its author.
	"message_by_id_subreddit_pm.praw_cassette.json": checkSubredditPM,
	// A thread: the root and its nested replies, in both directions, one conversation.
	"message_thread_with_replies.praw_cassette.json": checkThread,
	// Send-API answers, not poll input: the reply's thing converts like an inbox message (an
	// outbound reply in its thread); compose returns no message at all.
	"api_comment_reply_to_pm_response.praw_cassette.json": checkCommentReplyResponse,
	"api_compose_response.praw_cassette.json":             checkComposeResponse,
}

func TestFixtures(t *testing.T) {
	dir := polltest.FixtureDir(t, "reddit")
	polltest.Covered(t, dir, slices.Collect(maps.Keys(fixtures)))
	for name, check := range fixtures {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			check(t, b)
		})
	}
}

var cv = converter{self: reddittest.Username}

func parseListing(t *testing.T, b []byte) []domain.PlatformItem {
	t.Helper()
	var l listing
	if err := json.Unmarshal(b, &l); err != nil || l.Kind != "Listing" {
		t.Fatalf("not a Listing: %v", err)
	}
	return cv.items(l.Data.Children)
}

func byID(items []domain.PlatformItem) map[string]domain.PlatformMessage {
	out := map[string]domain.PlatformMessage{}
	for _, it := range items {
		if m, ok := it.(domain.PlatformMessage); ok {
			out[m.PlatformMessageID] = m
		}
	}
	return out
}

func at(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

type wantMsg struct {
	convo    string
	dir      domain.Direction
	prospect domain.Participant
	text     string
	at       time.Time
	replyTo  string
}

func checkMessages(t *testing.T, got map[string]domain.PlatformMessage, want map[string]wantMsg) {
	t.Helper()
	for id, w := range want {
		m, ok := got[id]
		if !ok {
			t.Errorf("message %s missing", id)
			continue
		}
		if m.ConversationID != w.convo || m.Direction != w.dir || m.Prospect != w.prospect || m.Text != w.text ||
			!m.SentAt.Equal(w.at) || m.ReplyToPlatformMessageID != w.replyTo || len(m.Raw) == 0 {
			t.Errorf("message %s = convo %s %v prospect %+v text %q at %v reply to %q", id, m.ConversationID, m.Direction,
				m.Prospect, m.Text, m.SentAt, m.ReplyToPlatformMessageID)
		}
	}
}

// 64 children: 62 private messages (all received) in 44 threads, and 2 comment replies recorded
// raw.
func checkUnreadListing(t *testing.T, b []byte) {
	items := parseListing(t, b)
	if len(items) != 64 {
		t.Fatalf("%d items, want 64", len(items))
	}
	msgs := byID(items)
	convos := map[string]bool{}
	prospects := map[string]int{}
	for _, m := range msgs {
		convos[m.ConversationID] = true
		prospects[m.Prospect.PlatformID]++
		if m.Direction != domain.Inbound {
			t.Errorf("message %s is %v; the inbox holds what the account received", m.PlatformMessageID, m.Direction)
		}
	}
	if len(msgs) != 62 || len(convos) != 44 {
		t.Errorf("%d messages in %d threads, want 62 in 44", len(msgs), len(convos))
	}
	wantProspects := map[string]int{"UnExplanationBot": 56, "Sponge-Tron": 2, "Lil_SpazTest": 1, "reddit": 1,
		"ModNewsletter": 1, "#a:t5_4sdud0": 1}
	if !maps.Equal(prospects, wantProspects) {
		t.Errorf("messages by prospect = %v, want %v", prospects, wantProspects)
	}
	var other []string
	for _, it := range items {
		if o, ok := it.(domain.PlatformOther); ok {
			other = append(other, o.Kind)
			if len(o.Raw) == 0 || o.At.IsZero() {
				t.Errorf("%s without raw payload or time", o.Kind)
			}
		}
	}
	if !slices.Equal(other, []string{"comment_reply", "post_reply"}) {
		t.Errorf("unhandled kinds = %v, want the comment and the post reply", other)
	}
	checkMessages(t, msgs, map[string]wantMsg{
		"t4_2r17c8r": {"t4_2r17c8r", domain.Inbound, domain.Participant{PlatformID: "Lil_SpazTest", Username: "Lil_SpazTest"},
			"test", at(1747841818), ""},
		"t4_22ydkme": {"t4_22ydk2c", domain.Inbound, domain.Participant{PlatformID: "UnExplanationBot", Username: "UnExplanationBot"},
			msgs["t4_22ydkme"].Text, at(1703359135), "t4_22ydkji"},
		// No author: the subreddit's moderators wrote; a reply in the thread of t4_22w75y7.
		"t4_22y94yp": {"t4_22w75y7", domain.Inbound, domain.Participant{PlatformID: "#a:t5_4sdud0", DisplayName: "r/a:t5_4sdud0"},
			"Bot!", at(1703350915), "t4_22w75y7"},
	})
}

func checkSubredditPM(t *testing.T, b []byte) {
	items := parseListing(t, b)
	if len(items) != 1 {
		t.Fatalf("%d items, want 1", len(items))
	}
	checkMessages(t, byID(items), map[string]wantMsg{
		"t4_30rhflk": {"t4_30rhflk", domain.Inbound, domain.Participant{PlatformID: "Lil_SpazTest", Username: "Lil_SpazTest"},
			"Test", at(1750350342), ""},
	})
}

func checkThread(t *testing.T, b []byte) {
	items := parseListing(t, b)
	msgs := byID(items)
	if len(items) != 6 || len(msgs) != 6 {
		t.Fatalf("%d items, %d messages; want the root and its 5 replies", len(items), len(msgs))
	}
	bot := domain.Participant{PlatformID: "Lil_SpazBot", Username: "Lil_SpazBot"}
	out := 0
	for id, m := range msgs {
		if m.ConversationID != "t4_2r1s1k2" || m.Prospect != bot {
			t.Errorf("message %s: convo %s prospect %+v; one thread with Lil_SpazBot", id, m.ConversationID, m.Prospect)
		}
		if m.Direction == domain.Outbound {
			out++
		}
	}
	if out != 5 {
		t.Errorf("%d outbound, want 5 (the root and four replies by the account)", out)
	}
	checkMessages(t, msgs, map[string]wantMsg{
		"t4_2r1s1k2": {"t4_2r1s1k2", domain.Outbound, bot, "test", at(1747845285), ""},
		"t4_2r1sada": {"t4_2r1s1k2", domain.Inbound, bot, "test response", at(1747845326), ""},
		"t4_2r1z34f": {"t4_2r1s1k2", domain.Outbound, bot, "Message reply", at(1747846455), ""},
	})
}

type apiResponse struct {
	JSON struct {
		Errors []json.RawMessage `json:"errors"`
		Data   struct {
			Things []thing `json:"things"`
		} `json:"data"`
	} `json:"json"`
}

func checkCommentReplyResponse(t *testing.T, b []byte) {
	var r apiResponse
	if err := json.Unmarshal(b, &r); err != nil || len(r.JSON.Errors) != 0 {
		t.Fatalf("response %v, errors %v", err, r.JSON.Errors)
	}
	items := cv.items(r.JSON.Data.Things)
	// PRAW sanitized both names to <USERNAME>: the reply is ours, to "ourselves".
	checkMessages(t, byID(items), map[string]wantMsg{
		"t4_zzzzzzzzzzzz": {"t4_2r1s1k2", domain.Outbound, domain.Participant{PlatformID: reddittest.Username, Username: reddittest.Username},
			"Message reply", at(1747846453), "t4_2r1s1k2"},
	})
	if len(items) != 1 {
		t.Errorf("%d items, want 1", len(items))
	}
}

func checkComposeResponse(t *testing.T, b []byte) {
	var r apiResponse
	if err := json.Unmarshal(b, &r); err != nil || len(r.JSON.Errors) != 0 {
		t.Fatalf("response %v, errors %v", err, r.JSON.Errors)
	}
	if items := cv.items(r.JSON.Data.Things); len(items) != 0 {
		t.Fatalf("compose gave %d items; it returns no message", len(items))
	}
}
