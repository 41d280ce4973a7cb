package telegram

import (
	"encoding/json"
	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// testLink is a bot none of the samples was written by.
var testLink = platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: "7000000001"}

// fixtureCase states what one file of the shared samples must produce.
type fixtureCase struct {
	// message: the file is a Message, not an Update; the test wraps it in one.
	message bool
	// doc: the file documents the samples and is not one.
	doc  bool
	want []domain.PlatformItem
}

func private(id int64, username, name string) domain.Participant {
	return domain.Participant{PlatformID: itoa(id), Username: username, DisplayName: name}
}

var testUser = private(1111111, "Testusername", "Test Firstname Test Lastname")

// officialText is the official guide's private message 1365 of chat 1111111, with a change.
func officialText(change func(*domain.PlatformMessage)) domain.PlatformMessage {
	m := domain.PlatformMessage{PlatformMessageID: "1111111:1365", ConversationID: "1111111", Direction: domain.Inbound,
		Prospect: testUser, Text: "/start", SentAt: time.Unix(1441645532, 0).UTC()}
	change(&m)
	return m
}

// fixtures covers every file of ../shared/fixtures/platforms/telegram; TestFixtures fails on a
// file without an entry.
var fixtures = map[string]fixtureCase{
	"SOURCES.md": {doc: true},
	"official_webhooks_guide/edited_message.update.json": {want: []domain.PlatformItem{
		domain.PlatformEdit{PlatformMessageID: "1111111:1365", ConversationID: "1111111", ProspectPlatformID: "1111111",
			Text: "Edited text", EditedAt: time.Unix(1441646600, 0).UTC()},
	}},
	"official_webhooks_guide/message_document.update.json": {want: []domain.PlatformItem{officialText(func(m *domain.PlatformMessage) {
		m.Text = ""
		m.Attachments = []domain.Attachment{{Type: "file", PlatformID: "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX",
			MimeType: "application/pdf", Name: "Testfile.pdf"}}
	})}},
	// The prospect is who forwarded it, not forward_from.
	"official_webhooks_guide/message_forwarded.update.json": {want: []domain.PlatformItem{officialText(func(*domain.PlatformMessage) {})}},
	"official_webhooks_guide/message_text.update.json":      {want: []domain.PlatformItem{officialText(func(*domain.PlatformMessage) {})}},
	// Entities are formatting over the text, which is kept as sent.
	"official_webhooks_guide/message_with_entities.update.json": {want: []domain.PlatformItem{officialText(func(m *domain.PlatformMessage) {
		m.Text = "Bold and italics"
	})}},
	"official_webhooks_guide/message_with_reply_to_message.update.json": {want: []domain.PlatformItem{officialText(func(m *domain.PlatformMessage) {
		m.ReplyToPlatformMessageID = "1111111:1334"
	})}},
	"teloxide/message_private_photo_with_caption.json": {message: true, want: []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "27433968:3460", ConversationID: "27433968", Direction: domain.Inbound,
			Prospect: private(27433968, "tacocrasco", "Crax | rats addict"), Text: "www.example.com",
			Attachments: []domain.Attachment{{Type: "image",
				PlatformID: "AgACAgQAAxkBAAINhGKvijUVSn2i3980bQIIc1fqWGNCAAJpvDEbEmaBUfuA43fR-BnlAQADAgADeQADJAQ"}},
			SentAt: time.Unix(1655671349, 0).UTC()},
	}},
	"teloxide/update_private_chat_text_message.json": {want: []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "408258968:154", ConversationID: "408258968", Direction: domain.Inbound,
			Prospect: private(408258968, "hirrolot", "Hirrolot"), Text: "4", SentAt: time.Unix(1581448857, 0).UTC()},
	}},
	"teloxide/update_private_text_link_preview_options.json": {want: []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "218485655:6557", ConversationID: "218485655", Direction: domain.Inbound,
			Prospect: private(218485655, "WaffleLapkin", "Waffle"), Text: "hello there", SentAt: time.Unix(1569518342, 0).UTC()},
	}},
	// A supergroup: the chat is the conversation, the sender the prospect; the replied-to
	// message (itself a story reply) is in the same chat.
	"teloxide/update_supergroup_text_reply_to_message.json": {want: []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "-1001293752024:134546", ConversationID: "-1001293752024", Direction: domain.Inbound,
			Prospect: private(5964236329, "spacewhaleblues", "the Cable Guy"), Text: "/report",
			SentAt: time.Unix(1721592580, 0).UTC(), ReplyToPlatformMessageID: "-1001293752024:134545"},
	}},
}

// TestFixtures parses every shared Telegram sample and checks the items it must produce.
func TestFixtures(t *testing.T) {
	dir := platformtest.FixtureDir(t, "telegram")
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
			if c.doc {
				return
			}
			body, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if c.message {
				body = []byte(`{"update_id":1,"message":` + string(body) + `}`)
			}
			got, err := NewWebhook().Parse(body, testLink)
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, got, c.want)
			// getUpdates brings the same Update as the same items, Raw included.
			polled := pollResult(botResponse{OK: true, Result: []json.RawMessage{body}}, testLink, "")
			if !reflect.DeepEqual(polled.Items, got) || polled.Cursor == "" {
				t.Errorf("polled: %#v (cursor %q), webhook: %#v", polled.Items, polled.Cursor, got)
			}
		})
	}
}

// checkItems compares items without their Raw, which must be the JSON they came from.
func checkItems(t *testing.T, got, want []domain.PlatformItem) {
	t.Helper()
	stripped := make([]domain.PlatformItem, len(got))
	for i, it := range got {
		var raw []byte
		switch v := it.(type) {
		case domain.PlatformMessage:
			raw, v.Raw = v.Raw, nil
			stripped[i] = v
		case domain.PlatformEdit:
			raw, v.Raw = v.Raw, nil
			stripped[i] = v
		case domain.PlatformOther:
			raw, v.Raw = v.Raw, nil
			stripped[i] = v
		default:
			stripped[i] = it
			raw = []byte("{}")
		}
		if !json.Valid(raw) {
			t.Errorf("item %d (%T): Raw is not JSON: %q", i, it, raw)
		}
	}
	if !reflect.DeepEqual(stripped, want) {
		t.Errorf("items:\n got %#v\nwant %#v", stripped, want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
