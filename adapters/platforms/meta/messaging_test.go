package meta_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

const page = "104000000000001"

var link = platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: page}

func body(items ...string) []byte {
	b := `{"object":"page","entry":[{"id":"` + page + `","time":1700000000999,"messaging":[`
	for i, it := range items {
		if i > 0 {
			b += ","
		}
		b += it
	}
	return []byte(b + `]}]}`)
}

func item(event string) string {
	return `{"sender":{"id":"u1"},"recipient":{"id":"` + page + `"},"timestamp":1700000000000,` + event + `}`
}

// TestParseMessagingOddInput: missing fields and wrong types give an error (the body is not a
// webhook) or a PlatformOther with the element raw; never a panic, never a half-read item.
func TestParseMessagingOddInput(t *testing.T) {
	at := time.UnixMilli(1700000000000).UTC()
	entryAt := time.UnixMilli(1700000000999).UTC()
	other := func(kind string, at time.Time) domain.PlatformItem { return domain.PlatformOther{Kind: kind, At: at} }
	for _, c := range []struct {
		name string
		body []byte
		want []domain.PlatformItem
	}{
		{"reaction", body(item(`"reaction":{"mid":"m","action":"react","emoji":"x"}`)), []domain.PlatformItem{other(meta.KindReaction, at)}},
		{"postback without mid", body(item(`"postback":{"title":"Get Started","payload":"GS"}`)), []domain.PlatformItem{other(meta.KindPostback, at)}},
		{"optin", body(item(`"optin":{"type":"notification_messages"}`)), []domain.PlatformItem{other("optin", at)}},
		{"handover", body(item(`"pass_thread_control":{"new_owner_app_id":"1"}`)), []domain.PlatformItem{other("pass_thread_control", at)}},
		{"nothing but participants", body(`{"sender":{"id":"u1"},"recipient":{"id":"` + page + `"},"timestamp":1700000000000}`), []domain.PlatformItem{other(meta.KindUnknown, at)}},
		{"message without mid", body(item(`"message":{"text":"hi"}`)), []domain.PlatformItem{other(meta.KindInvalidMessage, at)}},
		{"message without sender", body(`{"recipient":{"id":"` + page + `"},"timestamp":1700000000000,"message":{"mid":"m","text":"hi"}}`),
			[]domain.PlatformItem{other(meta.KindInvalidMessage, at)}},
		{"edit without mid", body(item(`"message_edit":{"text":"hi"}`)), []domain.PlatformItem{other(meta.KindInvalidEdit, at)}},
		{"delivery without mids", body(item(`"delivery":{"watermark":1700000000000}`)), []domain.PlatformItem{other(meta.KindDelivery, at)}},
		{"read without any time", body(`{"sender":{"id":"u1"},"recipient":{"id":"` + page + `"},"read":{}}`),
			[]domain.PlatformItem{domain.PlatformSeen{ProspectPlatformID: "u1", Watermark: entryAt}}},
		{"text of the wrong type", body(item(`"message":{"mid":"m","text":7}`)), []domain.PlatformItem{other(meta.KindMalformed, entryAt)}},
		{"is_echo of the wrong type", body(item(`"message":{"mid":"m","is_echo":"yes"}`)), []domain.PlatformItem{other(meta.KindMalformed, entryAt)}},
		{"sender id of the wrong type", body(`{"sender":{"id":{}},"recipient":{"id":"` + page + `"},"message":{"mid":"m"}}`),
			[]domain.PlatformItem{other(meta.KindMalformed, entryAt)}},
		{"messaging element not an object", body(`7`, `"x"`, `null`), []domain.PlatformItem{other(meta.KindMalformed, entryAt),
			other(meta.KindMalformed, entryAt), other(meta.KindUnknown, entryAt)}},
		{"numeric ids", body(`{"sender":{"id":5300000000000001},"recipient":{"id":` + page + `},"timestamp":"1700000000000","message":{"mid":"m","text":"hi"}}`),
			[]domain.PlatformItem{domain.PlatformMessage{PlatformMessageID: "m", Direction: domain.Inbound,
				Prospect: domain.Participant{PlatformID: "5300000000000001"}, Text: "hi", SentAt: at}}},
		{"time beyond year 9999", body(`{"sender":{"id":"u1"},"recipient":{"id":"` + page + `"},"timestamp":9e18,"message":{"mid":"m"}}`),
			[]domain.PlatformItem{domain.PlatformMessage{PlatformMessageID: "m", Direction: domain.Inbound,
				Prospect: domain.Participant{PlatformID: "u1"}, SentAt: entryAt}}},
		{"entry not an object", []byte(`{"object":"page","entry":[7,{"id":"` + page + `"}]}`), []domain.PlatformItem{other(meta.KindMalformed, time.Time{})}},
		{"messaging not an array", []byte(`{"object":"page","entry":[{"id":"` + page + `","messaging":{}}]}`), []domain.PlatformItem{other(meta.KindMalformed, time.Time{})}},
		{"feed change", []byte(`{"object":"page","entry":[{"id":"` + page + `","time":1700000000999,"changes":[{"field":"feed","value":{}}]}]}`),
			[]domain.PlatformItem{other("feed", entryAt)}},
		{"empty batch", []byte(`{"object":"page","entry":[]}`), nil},
		{"two entries, one foreign", []byte(`{"object":"page","entry":[{"id":"other","messaging":[{"sender":{"id":"u2"},"recipient":{"id":"other"},"message":{"mid":"x"}}]},` +
			`{"id":"` + page + `","messaging":[{"sender":{"id":"u1"},"recipient":{"id":"` + page + `"},"timestamp":1700000000000,"message":{"mid":"m","text":"hi"}}]}]}`),
			[]domain.PlatformItem{other(meta.KindForeignAccount, time.Time{}), domain.PlatformMessage{PlatformMessageID: "m", Direction: domain.Inbound,
				Prospect: domain.Participant{PlatformID: "u1"}, Text: "hi", SentAt: at}}},
		{"page writes without is_echo", body(`{"sender":{"id":"` + page + `"},"recipient":{"id":"u1"},"timestamp":1700000000000,"message":{"mid":"m","text":"hi"}}`),
			[]domain.PlatformItem{domain.PlatformMessage{PlatformMessageID: "m", Direction: domain.Outbound, Prospect: domain.Participant{PlatformID: "u1"},
				Sender: domain.Participant{PlatformID: page}, Text: "hi", SentAt: at}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, err := meta.ParseMessaging(c.body, "page", link)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := pt.MetaDescribe(items), pt.MetaDescribe(c.want); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
			for _, it := range items {
				if raw := pt.MetaRaw(it); raw != nil && !json.Valid(raw) {
					t.Errorf("invalid Raw %q", raw)
				}
			}
		})
	}
	for _, bad := range []string{``, `[`, `[]`, `"page"`, `null`, `{}`, `{"object":"instagram","entry":[]}`, `{"object":"page"}`,
		`{"object":"page","entry":7}`, `{"object":null,"entry":[]}`, `{"object":"page","entry":[]`} {
		if items, err := meta.ParseMessaging([]byte(bad), "page", link); err == nil {
			t.Errorf("%q: parsed as %s, want an error", bad, pt.MetaDescribe(items))
		}
	}
}

// FuzzParseMessaging: whatever the bytes, an error or items with valid Raw; never a panic.
// `go test` runs the seeds; `go test -fuzz FuzzParseMessaging ./adapters/platforms/meta` explores.
func FuzzParseMessaging(f *testing.F) {
	f.Add(body(item(`"message":{"mid":"m","text":"hi","attachments":[{"type":"image","payload":{"url":"u","sticker_id":1}}],"reply_to":{"mid":"r","story":{"id":1,"url":"s"}}}`)))
	f.Add(body(item(`"read":{"watermark":"1"}`), item(`"delivery":{"mids":["a",""]}`), item(`"message_edit":{"mid":"m","text":"x"}`)))
	f.Add([]byte(`{"object":"page","entry":[{"id":1,"time":"x","standby":[{}],"changes":[1]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := meta.ParseMessaging(b, "page", link)
		if err != nil {
			return
		}
		for _, it := range items {
			if raw := pt.MetaRaw(it); raw != nil && !json.Valid(raw) {
				t.Fatalf("invalid Raw %q", raw)
			}
		}
	})
}

// TestMetaStripJSONC: the fixture helper that reads Meta's published .jsonc leaves strings
// alone (URLs, escaped quotes) and removes only comments and trailing commas.
func TestMetaStripJSONC(t *testing.T) {
	in := "{\n  \"url\": \"https://x.example/a,]\", // the CDN URL\n  \"q\": \"say \\\"hi\\\" // not a comment\",\n" +
		"  /* block */ \"list\": [1, 2,\n ],\n}\n"
	got := pt.MetaStripJSONC([]byte(in))
	var v struct {
		URL, Q string
		List   []int
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if v.URL != "https://x.example/a,]" || v.Q != `say "hi" // not a comment` || len(v.List) != 2 {
		t.Errorf("%+v", v)
	}
}
