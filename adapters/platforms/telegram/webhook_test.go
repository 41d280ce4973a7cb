package telegram

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

func TestVerify(t *testing.T) {
	creds := map[string]string{CredWebhookSecret: "s3cret_Token-1"}
	for _, c := range []struct {
		name, header string
		creds        map[string]string
		ok           bool
	}{
		{"right secret", "s3cret_Token-1", creds, true},
		{"wrong secret", "s3cret_Token-2", creds, false},
		{"prefix of the secret", "s3cret", creds, false},
		{"no header", "", creds, false},
		{"link without a secret", "", map[string]string{}, false},
		{"link without a secret, any header", "anything", map[string]string{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/telegram/acc_1", strings.NewReader("{}"))
			if c.header != "" {
				r.Header.Set(SecretHeader, c.header)
			}
			err := NewWebhook().Verify(r, []byte("{}"), c.creds)
			if c.ok != (err == nil) || (err != nil && !errors.Is(err, platforms.ErrSignature)) {
				t.Fatalf("Verify: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestHandshakeRefused(t *testing.T) {
	w := httptest.NewRecorder()
	NewWebhook().Handshake(w, httptest.NewRequest(http.MethodGet, "/webhooks/telegram/acc_1", nil), nil)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
		t.Fatalf("GET: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

const (
	hirrolot  = `{"id":408258968,"is_bot":false,"first_name":"Hirrolot","username":"hirrolot"}`
	dmChat    = `{"id":408258968,"first_name":"Hirrolot","username":"hirrolot","type":"private"}`
	bot       = `{"id":7000000001,"is_bot":true,"first_name":"Shop","username":"shop_bot"}`
	groupChat = `{"id":-1001293752024,"title":"CryptoInside Chat","type":"supergroup","username":"cryptoinside_talk"}`
)

func msgUpdate(from, chat, rest string) string {
	return `{"update_id":5,"message":{"message_id":77,"from":` + from + `,"chat":` + chat + `,"date":1700000000` + rest + `}}`
}

// TestParseKinds covers what the samples do not: our bot's own messages, the other media,
// a photo reply (composed from two samples, as SOURCES.md suggests), anonymous group
// senders, and the update kinds Switchboard does not model.
func TestParseKinds(t *testing.T) {
	at := time.Unix(1700000000, 0).UTC()
	hiro := private(408258968, "hirrolot", "Hirrolot")
	group := domain.Participant{PlatformID: "-1001293752024", Username: "cryptoinside_talk", DisplayName: "CryptoInside Chat"}
	shop := private(7000000001, "shop_bot", "Shop")
	in := func(id, conv string, p domain.Participant, text string, atts ...domain.Attachment) domain.PlatformMessage {
		return domain.PlatformMessage{PlatformMessageID: id, ConversationID: conv, Direction: domain.Inbound, Prospect: p,
			Text: text, Attachments: atts, SentAt: at}
	}
	for _, c := range []struct {
		name, body string
		want       []domain.PlatformItem
	}{
		{"our bot in a private chat", msgUpdate(bot, dmChat, `,"text":"hello!"`), []domain.PlatformItem{
			domain.PlatformMessage{PlatformMessageID: "408258968:77", ConversationID: "408258968", Direction: domain.Outbound,
				Prospect: hiro, Sender: shop, Text: "hello!", SentAt: at}}},
		{"our bot in a group: the group is the other side", msgUpdate(bot, groupChat, `,"text":"welcome"`), []domain.PlatformItem{
			domain.PlatformMessage{PlatformMessageID: "-1001293752024:77", ConversationID: "-1001293752024", Direction: domain.Outbound,
				Prospect: group, Sender: shop, Text: "welcome", SentAt: at}}},
		{"anonymous admin in a group", msgUpdate(`{"id":1087968824,"is_bot":true,"first_name":"Group","username":"GroupAnonymousBot"}`,
			groupChat, `,"sender_chat":`+groupChat+`,"text":"pinned rules"`), []domain.PlatformItem{
			in("-1001293752024:77", "-1001293752024", group, "pinned rules")}},
		{"photo replying to a message", msgUpdate(hirrolot, dmChat, `,"caption":"this one?","reply_to_message":{"message_id":76,"chat":`+dmChat+`,"date":1699999999,"text":"which?"},`+
			`"photo":[{"file_id":"big","file_unique_id":"b","width":1280,"height":1280},{"file_id":"small","file_unique_id":"s","width":90,"height":90}]`),
			[]domain.PlatformItem{func() domain.PlatformMessage {
				m := in("408258968:77", "408258968", hiro, "this one?", domain.Attachment{Type: "image", PlatformID: "big"})
				m.ReplyToPlatformMessageID = "408258968:76"
				return m
			}()}},
		{"video", msgUpdate(hirrolot, dmChat, `,"video":{"file_id":"v1","file_unique_id":"v","width":640,"height":360,"duration":3,"mime_type":"video/mp4","file_name":"clip.mp4"}`),
			[]domain.PlatformItem{in("408258968:77", "408258968", hiro, "", domain.Attachment{Type: "video", PlatformID: "v1", MimeType: "video/mp4", Name: "clip.mp4"})}},
		{"voice", msgUpdate(hirrolot, dmChat, `,"voice":{"file_id":"o1","file_unique_id":"o","duration":2,"mime_type":"audio/ogg"}`),
			[]domain.PlatformItem{in("408258968:77", "408258968", hiro, "", domain.Attachment{Type: "audio", PlatformID: "o1", MimeType: "audio/ogg"})}},
		{"audio", msgUpdate(hirrolot, dmChat, `,"audio":{"file_id":"a1","file_unique_id":"a","duration":200,"mime_type":"audio/mpeg","file_name":"song.mp3"}`),
			[]domain.PlatformItem{in("408258968:77", "408258968", hiro, "", domain.Attachment{Type: "audio", PlatformID: "a1", MimeType: "audio/mpeg", Name: "song.mp3"})}},
		{"sticker", msgUpdate(hirrolot, dmChat, `,"sticker":{"file_id":"st1","file_unique_id":"st","type":"regular","width":512,"height":512,"emoji":"👍"}`),
			[]domain.PlatformItem{in("408258968:77", "408258968", hiro, "", domain.Attachment{Type: "sticker", PlatformID: "st1"})}},
		{"animation: one attachment, not its document twin", msgUpdate(hirrolot, dmChat, `,"animation":{"file_id":"g1","file_unique_id":"g","mime_type":"video/mp4"},"document":{"file_id":"g1","file_unique_id":"g","mime_type":"video/mp4"}`),
			[]domain.PlatformItem{in("408258968:77", "408258968", hiro, "", domain.Attachment{Type: "video", PlatformID: "g1", MimeType: "video/mp4"})}},
		{"a group member's edit", `{"update_id":6,"edited_message":{"message_id":77,"from":` + hirrolot + `,"chat":` + groupChat + `,"date":1700000000,"edit_date":1700000060,"text":"fixed"}}`,
			[]domain.PlatformItem{domain.PlatformEdit{PlatformMessageID: "-1001293752024:77", ConversationID: "-1001293752024",
				ProspectPlatformID: "408258968", Text: "fixed", EditedAt: at.Add(time.Minute)}}},
		{"a location: recorded raw", msgUpdate(hirrolot, dmChat, `,"location":{"latitude":1.5,"longitude":2.5}`),
			[]domain.PlatformItem{domain.PlatformOther{Kind: "message.location", At: at}}},
		{"a service message: recorded raw", msgUpdate(hirrolot, groupChat, `,"new_chat_members":[`+hirrolot+`]`),
			[]domain.PlatformItem{domain.PlatformOther{Kind: "message.new_chat_members", At: at}}},
		{"channel post", `{"update_id":7,"channel_post":{"message_id":1,"sender_chat":{"id":-1002149282975,"title":"TON Spin","type":"channel"},"chat":{"id":-1002149282975,"title":"TON Spin","type":"channel"},"date":1700000000,"text":"news"}}`,
			[]domain.PlatformItem{domain.PlatformOther{Kind: "channel_post", At: at}}},
		{"callback query", `{"update_id":8,"callback_query":{"id":"4382bfdwdsb323b2d9","from":` + hirrolot + `,"data":"Data from button callback","chat_instance":"-1"}}`,
			[]domain.PlatformItem{domain.PlatformOther{Kind: "callback_query"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := NewWebhook().Parse([]byte(c.body), testLink)
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, got, c.want)
		})
	}
}

func TestParseRejectsOtherFormats(t *testing.T) {
	for _, body := range []string{`not json`, `[]`, `{"message":{"message_id":1,"chat":{"id":1},"date":1}}`,
		`{"update_id":"x"}`, `{"update_id":3,"message":{"text":"no chat"}}`} {
		if _, err := NewWebhook().Parse([]byte(body), testLink); err == nil {
			t.Errorf("Parse(%s): no error", body)
		}
	}
}
