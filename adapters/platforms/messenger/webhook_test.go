package messenger_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/messenger"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

const (
	page = "<PAGE_ID>"
	psid = "<PSID>"
	// The two .entry.json samples name Page 682498302938465 in entry.id but "<PAGE_ID>" as
	// the recipient: either id attributes them to the link.
	entryPage = "682498302938465"
)

func in(mid, text string, at time.Time, atts ...domain.Attachment) domain.PlatformMessage {
	return domain.PlatformMessage{PlatformMessageID: mid, Direction: domain.Inbound,
		Prospect: domain.Participant{PlatformID: psid}, Text: text, Attachments: atts, SentAt: at}
}

func echo(mid, text string, at time.Time, atts ...domain.Attachment) domain.PlatformMessage {
	m := in(mid, text, at, atts...)
	m.Direction, m.Sender = domain.Outbound, domain.Participant{PlatformID: page}
	return m
}

func parse(body []byte, platformID string) ([]domain.PlatformItem, error) {
	return messenger.NewWebhook().Parse(body, platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: platformID})
}

// TestFixtures: every Messenger sample and what it must produce.
func TestFixtures(t *testing.T) {
	foreign := func(at time.Time) []domain.PlatformItem {
		return []domain.PlatformItem{domain.PlatformOther{Kind: meta.KindForeignAccount, At: at}}
	}
	attachMid := "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c"
	pt.MetaRunFixtures(t, "messenger", messenger.Object, parse, []pt.MetaCase{
		{File: "text_message.messaging_item.json", Link: page, EntryID: page,
			// A quick reply is text the person sent: a message; its payload stays in Raw.
			Want: []domain.PlatformItem{in("mid.1457764197618:41d102a3e1ae206a38", "hello, world!", ms(1458692752478))}},
		{File: "text_message.messaging_item.json", Link: "1234567890", EntryID: page,
			// Another Page's conversation, delivered to this link's URL: kept raw, not attributed.
			Want: foreign(ms(1458692752478))},
		{File: "reply_to_message.messaging_item.json", Link: page, EntryID: page,
			Want: []domain.PlatformItem{func() domain.PlatformMessage {
				m := in("m_1457764197618:41d102a3e1ae206a38", "hello, world!", ms(1458692752478))
				m.ReplyToPlatformMessageID = "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"
				return m
			}()}},
		{File: "attachment_message.entry.json", Link: entryPage,
			// The published type is a placeholder listing the enum: an unknown type keeps its
			// URL as a file.
			Want: []domain.PlatformItem{in(attachMid, "", ms(1518479195308), domain.Attachment{Type: "file", URL: "<ATTACHMENT_URL>"})}},
		{File: "attachment_message.entry.json", Link: page,
			Want: []domain.PlatformItem{in(attachMid, "", ms(1518479195308), domain.Attachment{Type: "file", URL: "<ATTACHMENT_URL>"})}},
		{File: "attachment_message.entry.json", Link: "1234567890", Want: foreign(ms(1518479195308))},
		{File: "sticker_attachment.entry.json", Link: entryPage,
			Want: []domain.PlatformItem{in(attachMid, "", ms(1518479195308),
				domain.Attachment{Type: "sticker", URL: "<STICKER_URL>", PlatformID: "369239263222822"})}},
		{File: "fallback_attachment_link_share.webhook_body.json", Link: page,
			Want: []domain.PlatformItem{in("m_toDnmD...", "This is where I want to go: https://youtu.be/bbo_fZAjIhg", ms(1583173666767),
				domain.Attachment{Type: "share", URL: "<ATTACHMENT_URL >", Name: "TAHITI - Heaven on Earth"})}},
		{File: "text_with_commands.webhook_body.json", Link: page,
			// The bot command list is not modelled; it stays in Raw.
			Want: []domain.PlatformItem{in("m_3vs...", "find flights from SFO to LAX next Thursday", ms(1697643027400))}},
		{File: "echo_text.messaging_item.json", Link: page, EntryID: page,
			Want: []domain.PlatformItem{echo("mid.1457764197618:41d102a3e1ae206a38", "hello, world!", ms(1457764197627))}},
		{File: "echo_image_attachment.messaging_item.json", Link: page, EntryID: page,
			Want: []domain.PlatformItem{echo("mid.1458696618141:b4ef9d19ec21086067", "", ms(1458696618268),
				domain.Attachment{Type: "image", URL: "<IMAGE_URL>"})}},
		{File: "echo_reply_to_message.messaging_item.json", Link: page, EntryID: page,
			Want: []domain.PlatformItem{func() domain.PlatformMessage {
				m := echo("mid.1458696618141:b4ef9d19ec21086067", "", ms(1458696618268))
				m.ReplyToPlatformMessageID = "QUOTED-MESSAGE-ID"
				return m
			}()}},
		{File: "echo_template_in_standby.webhook_body.jsonc", Link: page,
			Placeholders: map[string]string{"<APPID>": "1517776481860111"},
			// Standby (another app owns the conversation) reads like messaging; a template is
			// a share.
			Want: []domain.PlatformItem{echo("qT7ywaKpO9kkQR7Gv-nM8LIfLZDamVrALniheUYEDdHJXjDXEAyaS1xxONzb2Iv-DFzmTihfWJV012P5pK0AhQ", "",
				ms(1570053170673), domain.Attachment{Type: "share", URL: "https://www.facebook.com/commerce/update/"})}},
		{File: "message_edit.messaging_item.jsonc", Link: page, EntryID: page,
			Want: []domain.PlatformItem{domain.PlatformEdit{PlatformMessageID: "<MESSAGE_ID>", ProspectPlatformID: psid,
				Text: "<TEXT>", EditedAt: ms(1458668856463)}}},
		{File: "message_reads.messaging_item.json", Link: page, EntryID: page,
			Want: []domain.PlatformItem{domain.PlatformSeen{ProspectPlatformID: psid, Watermark: ms(1458668856253)}}},
		{File: "message_deliveries.messaging_item.json", Link: page, EntryID: page,
			// No timestamp in this sample: the watermark is the time.
			Want: []domain.PlatformItem{domain.PlatformDelivered{PlatformMessageIDs: []string{"mid.1458668856218:ed81099e15d3f4f233"},
				ProspectPlatformID: psid, At: ms(1458668856253)}}},
		{File: "send_api_text_reply.response.json", Link: page, NotWebhook: "the Send API's response",
			Check: func(t *testing.T, b []byte) {
				var r struct {
					RecipientID string `json:"recipient_id"`
					MessageID   string `json:"message_id"`
				}
				if err := json.Unmarshal(b, &r); err != nil || r.RecipientID != "PAGE-SCOPED-ID" || r.MessageID != "AG5Hz2U..." {
					t.Errorf("send response: %+v %v", r, err)
				}
			}},
	})
}
