package instagram_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/instagram"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

const (
	igid  = "<IGID>"
	igsid = "<IGSID>"
	// The Business Login samples' names for the account and the person.
	blAccount = "<YOUR_APP_USERS_INSTAGRAM_USER_ID>"
	blPerson  = "<INSTAGRAM_SCOPED_ID>"
	sdk       = "instabot_go_sdk/"
)

var at = ms(1569262485349)

func in(mid, text string, atts ...domain.Attachment) domain.PlatformMessage {
	return domain.PlatformMessage{PlatformMessageID: mid, Direction: domain.Inbound,
		Prospect: domain.Participant{PlatformID: igsid}, Text: text, Attachments: atts, SentAt: at}
}

func parse(body []byte, platformID string) ([]domain.PlatformItem, error) {
	return instagram.NewWebhook().Parse(body, platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: platformID})
}

// TestFixtures: every Instagram sample and what it must produce.
func TestFixtures(t *testing.T) {
	one := func(it domain.PlatformItem) []domain.PlatformItem { return []domain.PlatformItem{it} }
	pt.MetaRunFixtures(t, "instagram", instagram.Object, parse, []pt.MetaCase{
		{File: sdk + "text_message.webhook_body.json", Link: igid, Want: one(in("<MESSAGE_ID>", "<MESSAGE_CONTENT>"))},
		{File: sdk + "text_message.webhook_body.json", Link: "17841400000000000",
			Want: one(domain.PlatformOther{Kind: meta.KindForeignAccount, At: at})},
		{File: sdk + "image_attachment.webhook_body.json", Link: igid,
			Want: one(in("<MESSAGE_ID>", "", domain.Attachment{Type: "image", URL: "<CDN_LINK>"}))},
		{File: sdk + "video_attachment.webhook_body.json", Link: igid,
			Want: one(in("<MESSAGE_ID>", "", domain.Attachment{Type: "video", URL: "<CDN_LINK>"}))},
		{File: sdk + "audio_attachment.webhook_body.json", Link: igid,
			Want: one(in("<MESSAGE_ID>", "", domain.Attachment{Type: "audio", URL: "<CDN_LINK>"}))},
		{File: sdk + "share_attachment.webhook_body.json", Link: igid,
			Want: one(in("<MESSAGE_ID>", "", domain.Attachment{Type: "share", URL: "<CDN_URL>"}))},
		{File: sdk + "story_mention.webhook_body.json", Link: igid,
			Want: one(in("<MESSAGE_ID>", "", domain.Attachment{Type: "story", URL: "<CDN_URL>"}))},
		{File: sdk + "story_reply.webhook_body.json", Link: igid,
			Want: one(in("<MESSAGE_ID>", "<MESSAGE_CONTENT>", domain.Attachment{Type: "story", URL: "<CDN_URL>", PlatformID: "story_id"}))},
		{File: sdk + "inline_reply_to_message.webhook_body.json", Link: igid,
			Want: one(func() domain.PlatformMessage {
				m := in("<MESSAGE_ID>", "<MESSAGE_CONTENT>")
				m.ReplyToPlatformMessageID = "<MESSAGE_ID>" // the sample's placeholder names itself
				return m
			}())},
		{File: sdk + "message_deleted.webhook_body.json", Link: igid,
			Want: one(domain.PlatformDelete{PlatformMessageID: "<MESSAGE_ID>", ProspectPlatformID: igsid, DeletedAt: at})},
		{File: sdk + "message_reaction.webhook_body.json", Link: igid,
			Want: one(domain.PlatformOther{Kind: meta.KindReaction, At: at})},
		{File: sdk + "messaging_seen.webhook_body.json", Link: igid,
			// read.mid, no watermark: seen at the receipt's own time.
			Want: one(domain.PlatformSeen{ProspectPlatformID: igsid, Watermark: at})},
		{File: sdk + "quick_reply.webhook_body.json", Link: igid,
			// entry.id is the person's IGSID in this sample; the recipient is the account.
			Want: one(domain.PlatformMessage{PlatformMessageID: "<MID>", Direction: domain.Inbound,
				Prospect: domain.Participant{PlatformID: igsid}, Text: "<SOME_TEXT>", SentAt: ms(1502905976377)})},
		{File: sdk + "postback_icebreaker.webhook_body.json", Link: igid,
			// The ice-breaker question the person tapped shows as their message.
			Want: one(domain.PlatformMessage{PlatformMessageID: "<MESSAGE_ID>", Direction: domain.Inbound,
				Prospect: domain.Participant{PlatformID: igsid}, Text: "<SELECTED_ICEBREAKER_QUESTION>", SentAt: ms(1502905976377)})},
		{File: "story_mention.webhook_body.jsonc", Link: igid,
			Want: one(in("<MESSAGE_ID>", "", domain.Attachment{Type: "story", URL: "<CDN_URL>"}))},
		{File: "message_reactions.business_login.jsonc", Link: blAccount,
			// JavaScript's \u{…} escapes are not JSON: written as JSON \u escapes.
			Placeholders: map[string]string{`\u{2764}\u{FE0F}`: `\u2764\uFE0F`},
			Want:         one(domain.PlatformOther{Kind: meta.KindReaction, At: at})},
		{File: "messaging_seen.business_login.jsonc", Link: blAccount,
			Want: one(domain.PlatformSeen{ProspectPlatformID: blPerson, Watermark: at})},
		{File: "messages_field_all_optional_fields.business_login.jsonc", Link: blAccount,
			// A field reference, not a payload: missing commas, duplicate keys and an unclosed
			// outer [ survive comment stripping, so it is refused as a body (it is covered by
			// TestAllOptionalFields field by field instead).
			Placeholders: map[string]string{"<TIME_NOTIFICATION_WAS_SENT>": "1569262486134", "<TIME_WEBHOOK_WAS_TRIGGERED>": "1569262485349"},
			WantErr:      true},
		{File: "story_mention.conversations_api_response.json", Link: igid,
			NotWebhook: "a Conversations API response (GET <MESSAGE_ID>?fields=story)",
			Check: func(t *testing.T, b []byte) {
				var r struct {
					ID    string `json:"id"`
					Story struct {
						Mention struct{ Link, ID string } `json:"mention"`
					} `json:"story"`
				}
				if err := json.Unmarshal(b, &r); err != nil || r.ID != "<MESSAGE_ID>" || r.Story.Mention.Link != "<CDN_URL>" ||
					r.Story.Mention.ID != "<STORY_ID>" {
					t.Errorf("conversations API story: %+v %v", r, err)
				}
			}},
	})
}

// TestAllOptionalFields reads the fields the all-optional-fields reference shows, one
// realistic message at a time.
func TestAllOptionalFields(t *testing.T) {
	body := func(message string) []byte {
		return []byte(`{"object":"instagram","entry":[{"id":"17841400000000001","time":1569262486134,"messaging":[{"sender":{"id":"5300000000000001"},` +
			`"recipient":{"id":"17841400000000001"},"timestamp":1569262485349,"message":` + message + `}]}]}`)
	}
	person := domain.Participant{PlatformID: "5300000000000001"}
	for _, c := range []struct {
		name, message string
		want          domain.PlatformItem
	}{
		{"echo", `{"mid":"m1","text":"hi","is_echo":true}`, domain.PlatformMessage{PlatformMessageID: "m1", Direction: domain.Outbound,
			Prospect: domain.Participant{PlatformID: "17841400000000001"}, Sender: domain.Participant{PlatformID: "17841400000000001"},
			Text: "hi", SentAt: at}},
		{"unsupported", `{"mid":"m2","is_unsupported":true}`, domain.PlatformOther{Kind: meta.KindUnsupported, At: at}},
		{"deleted", `{"mid":"m3","is_deleted":true}`, domain.PlatformDelete{PlatformMessageID: "m3", ProspectPlatformID: person.PlatformID, DeletedAt: at}},
		{"ad referral", `{"mid":"m4","text":"Is it in stock?","referral":{"ref":"r","ad_id":"1","source":"ADS","type":"OPEN_THREAD"}}`,
			domain.PlatformMessage{PlatformMessageID: "m4", Direction: domain.Inbound, Prospect: person, Text: "Is it in stock?", SentAt: at}},
		{"two attachments and a reply", `{"mid":"m5","attachments":[{"type":"image","payload":{"url":"u1"}},{"type":"ig_reel","payload":{"url":"u2","title":"t"}}],"reply_to":{"mid":"m0"}}`,
			domain.PlatformMessage{PlatformMessageID: "m5", Direction: domain.Inbound, Prospect: person, SentAt: at, ReplyToPlatformMessageID: "m0",
				Attachments: []domain.Attachment{{Type: "image", URL: "u1"}, {Type: "share", URL: "u2", Name: "t"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, err := parse(body(c.message), "17841400000000001")
			if err != nil || len(items) != 1 {
				t.Fatalf("parse: %v %s", err, pt.MetaDescribe(items))
			}
			if got, want := pt.MetaDescribe(items), pt.MetaDescribe([]domain.PlatformItem{c.want}); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
}
