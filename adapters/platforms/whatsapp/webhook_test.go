package whatsapp_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/whatsapp"
	"github.com/switchboard-oss/switchboard/domain"
)

func sec(v int64) time.Time { return time.Unix(v, 0).UTC() }

const (
	phone = "106540352242922" // metadata.phone_number_id of every sample
	waID  = "16505551234"
)

var sheena = domain.Participant{PlatformID: waID, DisplayName: "Sheena Nelson"}

func parse(body []byte, platformID string) ([]domain.PlatformItem, error) {
	return whatsapp.NewWebhook().Parse(body, platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: platformID})
}

func one(it domain.PlatformItem) []domain.PlatformItem { return []domain.PlatformItem{it} }

// TestFixtures: every WhatsApp sample and what it must produce.
func TestFixtures(t *testing.T) {
	pt.MetaRunFixtures(t, "whatsapp", whatsapp.Object, parse, []pt.MetaCase{
		{File: "text_message.webhook_body.json", Link: phone,
			Want: one(domain.PlatformMessage{PlatformMessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
				Direction: domain.Inbound, Prospect: sheena, Text: "Does it come in another color?", SentAt: sec(1749416383)})},
		{File: "text_message.webhook_body.json", Link: "106540352242999",
			// Another number of the same WhatsApp Business Account: not this link's.
			Want: one(domain.PlatformOther{Kind: meta.KindForeignAccount})},
		{File: "text_message_with_context_message_business_button.webhook_body.json", Link: phone,
			Want: one(domain.PlatformMessage{PlatformMessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTA2NTUwRkNEMDdFQjJCRUU0NQA=",
				Direction: domain.Inbound, Prospect: sheena, Text: "Is this still available?", SentAt: sec(1750016800),
				ReplyToPlatformMessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA"})},
		{File: "image_message.webhook_body.json", Link: phone,
			// Same wamid as text_message in Meta's docs: one message id, so one message.
			Want: one(domain.PlatformMessage{PlatformMessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
				Direction: domain.Inbound, Prospect: sheena, Text: "Taj Mahal", SentAt: sec(1744344496),
				Attachments: []domain.Attachment{{Type: "image", URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...",
					MimeType: "image/jpeg", PlatformID: "1003383421387256"}}})},
		{File: "status_sent.webhook_body.json", Link: phone,
			Want: one(domain.PlatformDelivered{Accepted: true, PlatformMessageIDs: []string{"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="},
				ProspectPlatformID: waID, At: sec(1750030073)})},
		{File: "status_failed.webhook_body.json", Link: phone,
			Want: one(domain.PlatformFailed{PlatformMessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA", ProspectPlatformID: waID,
				Reason: "platform_error", Code: "131049", At: sec(1751142888)})},
		{File: "send_text.request_body.jsonc", Link: phone, NotWebhook: "a send (POST /messages) request body",
			Placeholders: map[string]string{"<ENABLE_LINK_PREVIEW>": "false"},
			Check: func(t *testing.T, b []byte) {
				var r struct {
					MessagingProduct string `json:"messaging_product"`
					To, Type         string
					Text             struct {
						PreviewURL bool `json:"preview_url"`
						Body       string
					}
				}
				if err := json.Unmarshal(b, &r); err != nil || r.MessagingProduct != "whatsapp" || r.Type != "text" ||
					r.To != "<WHATSAPP_USER_PHONE_NUMBER>" || r.Text.Body != "<BODY_TEXT>" {
					t.Errorf("send request: %+v %v", r, err)
				}
			}},
	})
}

// TestKinds: the message types and statuses no sample shows.
func TestKinds(t *testing.T) {
	value := func(inner string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` +
			`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + phone + `"},` + inner + `}}]}]}`)
	}
	msg := func(fields string) []byte {
		return value(`"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.X","timestamp":"1750000000",` + fields + `}]`)
	}
	status := func(s string) []byte {
		return value(`"statuses":[{"id":"wamid.Y","status":"` + s + `","timestamp":"1750000001","recipient_id":"16505551234"}]`)
	}
	m := func(text string, atts ...domain.Attachment) domain.PlatformItem {
		return domain.PlatformMessage{PlatformMessageID: "wamid.X", Direction: domain.Inbound, Prospect: sheena, Text: text,
			Attachments: atts, SentAt: sec(1750000000)}
	}
	other := func(kind string, at time.Time) domain.PlatformItem { return domain.PlatformOther{Kind: kind, At: at} }
	for _, c := range []struct {
		name string
		body []byte
		want domain.PlatformItem
	}{
		{"document", msg(`"type":"document","document":{"id":"9","mime_type":"application/pdf","filename":"q.pdf","caption":"quote"}`),
			m("quote", domain.Attachment{Type: "file", MimeType: "application/pdf", PlatformID: "9", Name: "q.pdf"})},
		{"sticker", msg(`"type":"sticker","sticker":{"id":"7","mime_type":"image/webp"}`),
			m("", domain.Attachment{Type: "sticker", MimeType: "image/webp", PlatformID: "7"})},
		{"voice", msg(`"type":"audio","audio":{"id":"8","mime_type":"audio/ogg; codecs=opus","voice":true}`),
			m("", domain.Attachment{Type: "audio", MimeType: "audio/ogg; codecs=opus", PlatformID: "8"})},
		{"template button tap", msg(`"type":"button","button":{"payload":"p","text":"Yes"}`), m("Yes")},
		{"interactive button reply", msg(`"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"b","title":"Book"}}`), m("Book")},
		{"interactive list reply", msg(`"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"l","title":"Tuesday"}}`), m("Tuesday")},
		{"reaction", msg(`"type":"reaction","reaction":{"message_id":"wamid.Z","emoji":"👍"}`), other("reaction", sec(1750000000))},
		{"location", msg(`"type":"location","location":{"latitude":1,"longitude":2}`), other("location", sec(1750000000))},
		{"unsupported", msg(`"type":"unsupported","errors":[{"code":131051}]`), other("unsupported", sec(1750000000))},
		{"text without text", msg(`"type":"text"`), other(meta.KindInvalidMessage, sec(1750000000))},
		{"image without image", msg(`"type":"image"`), other(meta.KindInvalidMessage, sec(1750000000))},
		{"timestamp of the wrong type", msg(`"type":"text","text":{"body":"x"},"timestamp":{"s":1}`), other(meta.KindMalformed, time.Time{})},
		{"delivered", status("delivered"), domain.PlatformDelivered{PlatformMessageIDs: []string{"wamid.Y"}, ProspectPlatformID: waID, At: sec(1750000001)}},
		{"read", status("read"), domain.PlatformSeen{ProspectPlatformID: waID, Watermark: sec(1750000001), PlatformMessageID: "wamid.Y"}},
		{"failed without errors", status("failed"), domain.PlatformFailed{PlatformMessageID: "wamid.Y", ProspectPlatformID: waID, Reason: "platform_error", At: sec(1750000001)}},
		{"deleted", status("deleted"), other("status_deleted", sec(1750000001))},
		{"status without recipient", value(`"statuses":[{"id":"wamid.Y","status":"read","timestamp":"1750000001"}]`),
			other(whatsapp.KindInvalidStatus, sec(1750000001))},
		{"errors alone", value(`"errors":[{"code":131000,"title":"Something went wrong"}]`), other("errors", time.Time{})},
		{"another field", []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}`),
			other("account_update", time.Time{})},
		{"entry of the wrong type", []byte(`{"object":"whatsapp_business_account","entry":[7]}`), other(meta.KindMalformed, time.Time{})},
		{"value missing", []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages"}]}]}`), other(meta.KindMalformed, time.Time{})},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, err := parse(c.body, phone)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := pt.MetaDescribe(items), pt.MetaDescribe([]domain.PlatformItem{c.want}); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `null`, `{"object":"page","entry":[]}`, `{"entry":[]}`, `{"object":"whatsapp_business_account"}`,
		`{"object":"whatsapp_business_account","entry":{}}`, `{"object":7,"entry":[]}`} {
		if items, err := parse([]byte(bad), phone); err == nil {
			t.Errorf("%q: parsed as %s, want an error", bad, pt.MetaDescribe(items))
		}
	}
}
