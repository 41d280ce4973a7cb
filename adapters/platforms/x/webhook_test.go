package x

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// The check value SOURCES.md computed with X's documented algorithm from X DevRel's example.
const (
	gistSecret   = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"
	gistCRC      = "9b4507b3-9040-4669-9ca3-6b94edb50553"
	gistResponse = "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="
)

func TestCRC(t *testing.T) {
	creds := map[string]string{CredConsumerSecret: gistSecret}
	w := httptest.NewRecorder()
	NewWebhook().Handshake(w, httptest.NewRequest(http.MethodGet, "/webhooks/x/acc_1?crc_token="+url.QueryEscape(gistCRC), nil), creds)
	var res struct {
		ResponseToken string `json:"response_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != http.StatusOK || res.ResponseToken != gistResponse ||
		w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("CRC: %d %q %s", w.Code, w.Body, w.Header().Get("Content-Type"))
	}

	w = httptest.NewRecorder()
	NewWebhook().Handshake(w, httptest.NewRequest(http.MethodGet, "/webhooks/x/acc_1", nil), creds)
	if w.Code != http.StatusBadRequest {
		t.Errorf("no crc_token: %d", w.Code)
	}
	w = httptest.NewRecorder()
	NewWebhook().Handshake(w, httptest.NewRequest(http.MethodGet, "/webhooks/x/acc_1?crc_token=abc", nil), map[string]string{})
	if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "sha256=") {
		t.Errorf("no consumer secret: %d %q", w.Code, w.Body)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"for_user_id":"4337869213","direct_message_events":[]}`)
	creds := map[string]string{CredConsumerSecret: gistSecret}
	for _, c := range []struct {
		name, sig string
		body      []byte
		creds     map[string]string
		ok        bool
	}{
		{"signed", sign(gistSecret, body), body, creds, true},
		{"another body", sign(gistSecret, body), append([]byte(" "), body...), creds, false},
		{"another secret", sign("other", body), body, creds, false},
		{"hex instead of base64", "sha256=00", body, creds, false},
		{"no header", "", body, creds, false},
		{"link without a secret", sign("", body), body, map[string]string{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/x/acc_1", nil)
			if c.sig != "" {
				r.Header.Set("x-twitter-webhooks-signature", c.sig)
			}
			err := NewWebhook().Verify(r, c.body, c.creds)
			if c.ok != (err == nil) || (err != nil && !errors.Is(err, platforms.ErrSignature)) {
				t.Fatalf("Verify: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// TestParseKinds covers what the samples do not: media, our own reads, the bodies of other
// subscribed users, event kinds without a model, and v2's outbound and shared posts.
func TestParseKinds(t *testing.T) {
	own := platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: "4337869213"}
	at := ms(1516403560557)
	hook := func(events string) string {
		return `{"for_user_id":"4337869213",` + events + `,"users":{"3001969357":{"id":"3001969357","name":"Jordan Brinks","screen_name":"furiouscamper"}}}`
	}
	j := domain.Participant{PlatformID: "3001969357", Username: "furiouscamper", DisplayName: "Jordan Brinks"}
	dm := func(id, sender, recipient, data string) string {
		return `{"type":"message_create","id":"` + id + `","created_timestamp":"1516403560557","message_create":{"target":{"recipient_id":"` +
			recipient + `"},"sender_id":"` + sender + `","message_data":` + data + `}}`
	}
	for _, c := range []struct {
		name, body string
		want       []domain.PlatformItem
	}{
		{"a photo", hook(`"direct_message_events":[` + dm("1", "3001969357", "4337869213",
			`{"text":"look https://t.co/x","attachment":{"type":"media","media":{"id_str":"955","type":"photo","media_url_https":"https://ton.twimg.com/1/955.jpg"}}}`) + `]`),
			[]domain.PlatformItem{domain.PlatformMessage{PlatformMessageID: "1", ConversationID: "3001969357-4337869213", Direction: domain.Inbound,
				Prospect: j, Text: "look https://t.co/x", SentAt: at,
				Attachments: []domain.Attachment{{Type: "image", URL: "https://ton.twimg.com/1/955.jpg", PlatformID: "955"}}},
				domain.PlatformProfile{Prospect: j}}},
		{"our video: the best MP4", hook(`"direct_message_events":[` + dm("2", "4337869213", "3001969357",
			`{"text":"","attachment":{"type":"media","media":{"id_str":"956","type":"video","media_url_https":"https://ton.twimg.com/thumb.jpg","video_info":{"variants":[`+
				`{"bitrate":256000,"content_type":"video/mp4","url":"https://v/low.mp4"},{"content_type":"application/x-mpegURL","url":"https://v/pl.m3u8"},`+
				`{"bitrate":832000,"content_type":"video/mp4","url":"https://v/high.mp4"}]}}}}`) + `]`),
			[]domain.PlatformItem{domain.PlatformMessage{PlatformMessageID: "2", ConversationID: "3001969357-4337869213", Direction: domain.Outbound,
				Prospect: j, Sender: domain.Participant{PlatformID: "4337869213"}, SentAt: at,
				Attachments: []domain.Attachment{{Type: "video", URL: "https://v/high.mp4", MimeType: "video/mp4", PlatformID: "956"}}},
				domain.PlatformProfile{Prospect: j}}},
		{"our own read", hook(`"direct_message_mark_read_events":[{"created_timestamp":"1516403560557","sender_id":"4337869213","target":{"recipient_id":"3001969357"},"last_read_event_id":"1"}]`),
			[]domain.PlatformItem{domain.PlatformOther{Kind: "direct_message_mark_read_events.by_account", At: at}, domain.PlatformProfile{Prospect: j}}},
		{"other kinds, raw", `{"for_user_id":"4337869213","user_has_blocked":false,"follow_events":[{"type":"follow","created_timestamp":"1516403560557"}],"user_event":{"revoke":{"date_time":"2018-05-24T09:48:12+00:00"}},` +
			`"direct_message_events":[{"type":"welcome_message","id":"9"}]}`,
			[]domain.PlatformItem{domain.PlatformOther{Kind: "direct_message_events.welcome_message"},
				domain.PlatformOther{Kind: "follow_events", At: at}, domain.PlatformOther{Kind: "user_event"}}},
		{"another subscribed user's body", `{"for_user_id":"999","direct_message_events":[` + dm("3", "3001969357", "999", `{"text":"hi"}`) + `]}`,
			[]domain.PlatformItem{domain.PlatformOther{Kind: "other_account"}}},
		{"an XAA delivery for another user", `{"data":{"event_type":"dm.received","filter":{"user_id":"999"},"payload":{}}}`,
			[]domain.PlatformItem{domain.PlatformOther{Kind: "other_account"}}},
		{"an XAA dm event without a message", `{"data":{"event_type":"dm.indicate_typing","filter":{"user_id":"4337869213"},"payload":{}}}`,
			[]domain.PlatformItem{domain.PlatformOther{Kind: "dm.indicate_typing"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := NewWebhook().Parse([]byte(c.body), own)
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, got, c.want)
		})
	}
}

func TestParseRejectsOtherFormats(t *testing.T) {
	for _, body := range []string{`not json`, `[]`, `{}`, `{"for_user_id":4337869213}`, `{"data":{"payload":{}}}`} {
		if _, err := NewWebhook().Parse([]byte(body), platforms.Link{PlatformID: "4337869213"}); err == nil {
			t.Errorf("Parse(%s): no error", body)
		}
	}
}

func TestDMEventsMapping(t *testing.T) {
	link := platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: "1072250532645998596"}
	body := `{"data":[
	 {"id":"30","event_type":"MessageCreate","text":"for the group","sender_id":"1072250532645998596","dm_conversation_id":"1578398451921985538","created_at":"2022-10-28T01:00:00.000Z"},
	 {"id":"20","event_type":"MessageCreate","text":"see this https://t.co/p","sender_id":"1072250532645998596","dm_conversation_id":"750362064426721281-1072250532645998596",
	  "created_at":"2022-10-28T00:00:00.000Z","attachments":{"media_keys":["3_77"]},"referenced_tweets":[{"id":"1580000000000000000"}]}],
	 "includes":{"users":[{"id":"750362064426721281","name":"Ana","username":"ana","profile_image_url":"https://pbs/a.jpg"},{"id":"1072250532645998596","name":"Shop","username":"shop"}],
	  "media":[{"media_key":"3_77","type":"photo","url":"https://pbs/77.jpg"}]},
	 "meta":{"result_count":2}}`
	page, err := parseDMEvents([]byte(body), link)
	if err != nil {
		t.Fatal(err)
	}
	shop := domain.Participant{PlatformID: "1072250532645998596", Username: "shop", DisplayName: "Shop"}
	checkItems(t, []domain.PlatformItem{page.events[0].item, page.events[1].item}, []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "30", ConversationID: "1578398451921985538", Direction: domain.Outbound,
			Prospect: domain.Participant{PlatformID: "1578398451921985538"}, Sender: shop, Text: "for the group",
			SentAt: time.Date(2022, 10, 28, 1, 0, 0, 0, time.UTC)},
		domain.PlatformMessage{PlatformMessageID: "20", ConversationID: "750362064426721281-1072250532645998596", Direction: domain.Outbound,
			Prospect: domain.Participant{PlatformID: "750362064426721281", Username: "ana", DisplayName: "Ana", AvatarURL: "https://pbs/a.jpg"},
			Sender:   shop, Text: "see this https://t.co/p", SentAt: time.Date(2022, 10, 28, 0, 0, 0, 0, time.UTC),
			Attachments: []domain.Attachment{{Type: "image", URL: "https://pbs/77.jpg", PlatformID: "77"},
				{Type: "share", URL: "https://x.com/i/web/status/1580000000000000000", PlatformID: "1580000000000000000"}}},
	})
	if page.next != "" {
		t.Errorf("next %q", page.next)
	}
	if _, err := parseDMEvents([]byte(`{"errors":[{"title":"Not Found Error","detail":"Could not find"}]}`), link); err == nil {
		t.Error("an errors-only answer: no error")
	}
}
