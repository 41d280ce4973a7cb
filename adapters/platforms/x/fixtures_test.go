package x

import (
	"encoding/json"
	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// How a table entry reads its file.
const (
	asWebhook = iota // a webhook body (AAA or XAA), through Parse
	asDMEvent        // one v2 dm_events object: wrapped in a page, through the poll parser
	asDMPage         // a v2 dm_events response, through the poll parser
	asRefused        // a response the poll parser must refuse
	asDoc            // documentation, not a sample
)

type fixtureCase struct {
	read int
	// link is the account link's user id: each sample's own subscribed or reading user.
	link string
	want []domain.PlatformItem
	// next is a page's next_token.
	next string
}

func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

func person(id, username, name, avatar string) domain.Participant {
	return domain.Participant{PlatformID: id, Username: username, DisplayName: name, AvatarURL: avatar}
}

const exampleAvatar = "https://pbs.twimg.com/profile_images/0000000000000000001/example_normal.jpg"

var (
	jordan   = person("3001969357", "furiouscamper", "Jordan Brinks", "https://pbs.twimg.com/profile_images/851526626785480705/cW4WTi7C_normal.jpg")
	bogus    = person("3284025577", "bogusbogart", "Bogus Bogart", "https://pbs.twimg.com/profile_images/763383202857779200/ndvZ96mE_normal.jpg")
	leBraat  = person("199566737", "LeBraat", "Le Braat", "https://pbs.twimg.com/profile_images/936652894371119105/YHEozVAg_normal.jpg")
	other    = person("2222222222222222222", "OtherUser", "OtherUser", exampleAvatar)
	example  = person("1111111111111111111", "ExampleUser", "Example User", exampleAvatar)
	xDevs    = person("2244994945", "XDevelopers", "X Developers", exampleAvatar)
	aaaUser  = "4337869213"
	xaaUser  = "1111111111111111111"
	groupID  = "1578398451921985538"
	groupAdd = "17200003"
)

// fixtures covers every file of ../shared/fixtures/platforms/x; TestFixtures fails on a file
// without an entry.
var fixtures = map[string]fixtureCase{
	"SOURCES.md": {read: asDoc},
	"aaa_direct_message_events.json": {link: aaaUser, want: []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "954491830116155396", ConversationID: "3001969357-4337869213",
			Direction: domain.Inbound, Prospect: jordan, Text: "Hello World!", SentAt: ms(1516403560557)},
		domain.PlatformProfile{Prospect: jordan}, // not the subscribed user's own
	}},
	"aaa_direct_message_indicate_typing_events.json": {link: aaaUser, want: []domain.PlatformItem{
		domain.PlatformOther{Kind: "direct_message_indicate_typing_events", At: ms(1518127183443)},
		domain.PlatformProfile{Prospect: jordan},
		domain.PlatformProfile{Prospect: bogus},
	}},
	// The reader is the prospect; the conversation is the reader's and the other user's.
	"aaa_direct_message_mark_read_events.json": {link: aaaUser, want: []domain.PlatformItem{
		domain.PlatformSeen{ConversationID: "199566737-3001969357", ProspectPlatformID: "199566737", Watermark: ms(1518452444662)},
		domain.PlatformProfile{Prospect: leBraat},
		domain.PlatformProfile{Prospect: jordan},
	}},
	// XChat bodies are encrypted: kept raw.
	"xaa_chat.received_truncated.json": {link: xaaUser, want: []domain.PlatformItem{
		domain.PlatformOther{Kind: "chat.received", At: ms(1784841183370)},
	}},
	"xaa_dm.received.json": {link: xaaUser, want: []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "2080765901528535096", ConversationID: "1111111111111111111-2222222222222222222",
			Direction: domain.Inbound, Prospect: other, Text: "hello!", SentAt: ms(1784928224372)},
		domain.PlatformProfile{Prospect: other},
	}},
	// Numerically 2244994945 < 1111111111111111111: the smaller id comes first.
	"xaa_dm.sent.json": {link: xaaUser, want: []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "2080763914820927863", ConversationID: "2244994945-1111111111111111111",
			Direction: domain.Outbound, Prospect: xDevs, Sender: example, Text: "Thanks for the update!", SentAt: ms(1784927750704)},
		domain.PlatformProfile{Prospect: xDevs},
	}},
	"xaa_event_envelope.json": {link: xaaUser, want: []domain.PlatformItem{domain.PlatformOther{Kind: "post.create"}}},
	// A group conversation: its own id; the sender is the prospect.
	"v2_dm_event_MessageCreate.json": {read: asDMEvent, link: groupAdd, want: []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "1582838499983564806", ConversationID: groupID, Direction: domain.Inbound,
			Prospect: domain.Participant{PlatformID: "944480690"}, Text: "Hi everyone.", SentAt: time.Date(2022, 10, 19, 20, 58, 0, 0, time.UTC)},
	}},
	"v2_dm_event_ParticipantsJoin.json": {read: asDMEvent, link: groupAdd, want: []domain.PlatformItem{
		domain.PlatformOther{Kind: "ParticipantsJoin", At: time.Date(2022, 10, 19, 20, 45, 58, 0, time.UTC)},
	}},
	"v2_dm_event_ParticipantsLeave.json": {read: asDMEvent, link: groupAdd, want: []domain.PlatformItem{
		domain.PlatformOther{Kind: "ParticipantsLeave", At: time.Date(2022, 10, 19, 20, 58, 9, 0, time.UTC)},
	}},
	// Recorded with X's default fields (no sender_id, no dm_conversation_id): nobody can say
	// who wrote them, so they are kept raw. The poller always asks for both.
	"v2_dm_conversation_events_response.tweepy_cassette.json": {read: asDMPage, link: "750362064426721281", next: "18LAA5G1SL0NR5OG0G00ZZZZ",
		want: []domain.PlatformItem{
			domain.PlatformOther{Kind: "MessageCreate.unattributed"},
			domain.PlatformOther{Kind: "MessageCreate.unattributed"},
		}},
	// Send (POST) responses, for a sender to come: not dm_events pages.
	"v2_send_dm_to_participant_response.tweepy_cassette.json":    {read: asRefused, link: "750362064426721281"},
	"v2_create_group_conversation_response.tweepy_cassette.json": {read: asRefused, link: "750362064426721281"},
}

// TestFixtures parses every shared X sample and checks the items it must produce.
func TestFixtures(t *testing.T) {
	dir := platformtest.FixtureDir(t, "x")
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := fixtures[f]; !ok {
			t.Errorf("%s has no entry in the fixture table", f)
		}
	}
	for name, c := range fixtures {
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(files, name) {
				t.Fatalf("the table names %s, which is not in %s", name, dir)
			}
			if c.read == asDoc {
				return
			}
			body, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			link := platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: c.link}
			switch c.read {
			case asWebhook:
				got, err := NewWebhook().Parse(body, link)
				if err != nil {
					t.Fatal(err)
				}
				checkItems(t, got, c.want)
			case asDMEvent, asDMPage, asRefused:
				if c.read == asDMEvent {
					body = []byte(`{"data":[` + string(body) + `]}`)
				}
				page, err := parseDMEvents(body, link)
				if c.read == asRefused {
					if err == nil {
						t.Fatalf("the poll parser took a non-page: %+v", page)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var got []domain.PlatformItem
				for _, e := range page.events {
					got = append(got, e.item)
				}
				checkItems(t, got, c.want)
				if page.next != c.next {
					t.Errorf("next_token %q, want %q", page.next, c.next)
				}
			}
		})
	}
}

// checkItems compares items without their Raw, which must be the JSON they came from.
func checkItems(t *testing.T, got, want []domain.PlatformItem) {
	t.Helper()
	stripped := make([]domain.PlatformItem, len(got))
	for i, it := range got {
		raw := []byte("{}")
		switch v := it.(type) {
		case domain.PlatformMessage:
			raw, v.Raw = v.Raw, nil
			stripped[i] = v
		case domain.PlatformOther:
			raw, v.Raw = v.Raw, nil
			stripped[i] = v
		default:
			stripped[i] = it
		}
		if !json.Valid(raw) {
			t.Errorf("item %d (%T): Raw is not JSON: %q", i, it, raw)
		}
	}
	if !reflect.DeepEqual(stripped, want) {
		t.Errorf("items:\n got %#v\nwant %#v", stripped, want)
	}
}
