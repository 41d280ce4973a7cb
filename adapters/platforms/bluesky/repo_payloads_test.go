package bluesky

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

// TestRepoPayloads: the repository's own Bluesky answers, as the poller converts them, seen by
// the account shop.example.com.
func TestRepoPayloads(t *testing.T) {
	const self, convoID = "did:plc:switchboardtestself00001", "3mtestconvo001"
	nuno := domain.Participant{PlatformID: "did:plc:switchboardtestother0001", Username: "nuno.example.com", DisplayName: "Nuno",
		AvatarURL: "https://cdn.bsky.app/img/avatar/plain/did:plc:switchboardtestother0001/bafkreitest@jpeg"}
	shop := domain.Participant{PlatformID: self, Username: "shop.example.com", DisplayName: "The Shop"}
	platformtest.RunRepoPayloads(t, "bluesky", map[string]func(*testing.T, []byte){
		"listConvos.response.json": func(t *testing.T, b []byte) {
			var list struct {
				Convos []convoView `json:"convos"`
			}
			if err := json.Unmarshal(b, &list); err != nil || len(list.Convos) != 1 {
				t.Fatalf("listConvos: %d convos, %v", len(list.Convos), err)
			}
			c := convoOf(list.Convos[0])
			if o, ok := c.other(self); !ok || o.participant() != nuno {
				t.Errorf("the direct convo's other member = %+v, want Nuno", o)
			}
		},
		"getLog.response.json": func(t *testing.T, b []byte) {
			var list struct {
				Convos []convoView `json:"convos"`
			}
			if err := json.Unmarshal(platformtest.RepoPayload(t, "bluesky", "listConvos.response.json"), &list); err != nil {
				t.Fatal(err)
			}
			convos := map[string]convo{convoID: convoOf(list.Convos[0])}
			var out getLogOutput
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			items, err := converter{self: self, convos: convos}.logItems(out.Logs)
			if err != nil {
				t.Fatal(err)
			}
			at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
			want := []domain.PlatformItem{
				domain.PlatformOther{Kind: "logBeginConvo"},
				domain.PlatformMessage{PlatformMessageID: "3mtestmsg0001", ConversationID: convoID, Direction: domain.Inbound,
					Prospect: nuno, Text: "Do you have the blue mug in stock?", SentAt: at("2026-01-01T10:05:00Z")},
				// What the account wrote: outbound, to the convo's other member.
				domain.PlatformMessage{PlatformMessageID: "3mtestmsg0002", ConversationID: convoID, Direction: domain.Outbound,
					Prospect: nuno, Sender: shop, Text: "Yes, two left!", SentAt: at("2026-01-01T10:06:00Z")},
				domain.PlatformOther{Kind: "logReadMessage"},
			}
			got := platformtest.MetaWithoutRaw(items)
			for i := range got { // the time of an unhandled entry is the poller's to decide
				if o, ok := got[i].(domain.PlatformOther); ok {
					o.At = time.Time{}
					got[i] = o
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("items:\n got %s\nwant %s", platformtest.MetaDescribe(got), platformtest.MetaDescribe(want))
			}
			for _, it := range items {
				if raw := platformtest.MetaRaw(it); !json.Valid(raw) {
					t.Errorf("%T without its raw entry", it)
				}
			}
		},
	})
}
