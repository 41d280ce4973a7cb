package reddit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

// TestRepoPayloads: the repository's own Reddit inbox listing, as the poller converts it for
// the account switchboard_shop.
func TestRepoPayloads(t *testing.T) {
	platformtest.RunRepoPayloads(t, "reddit", map[string]func(*testing.T, []byte){
		"message_inbox_listing.json": func(t *testing.T, b []byte) {
			sofia := domain.Participant{PlatformID: "sofia_pm", Username: "sofia_pm"}
			items := platformtest.MetaWithoutRaw(converter{self: "switchboard_shop"}.items(listingOf(t, b)))
			// One conversation: the root message names it, the reply points at the root.
			want := []domain.PlatformItem{
				domain.PlatformMessage{PlatformMessageID: "t4_3abcd02", ConversationID: "t4_3abcd01", Direction: domain.Inbound,
					Prospect: sofia, Text: "Thanks, that works for me.", SentAt: time.Unix(1767261960, 0).UTC(),
					ReplyToPlatformMessageID: "t4_3abcd01"},
				domain.PlatformMessage{PlatformMessageID: "t4_3abcd01", ConversationID: "t4_3abcd01", Direction: domain.Inbound,
					Prospect: sofia, Text: "Hello, can I pick up my order on Saturday?", SentAt: time.Unix(1767261900, 0).UTC()},
			}
			if !reflect.DeepEqual(items, want) {
				t.Fatalf("items:\n got %s\nwant %s", platformtest.MetaDescribe(items), platformtest.MetaDescribe(want))
			}
		},
	})
}

func listingOf(t *testing.T, b []byte) []thing {
	t.Helper()
	var l listing
	if err := json.Unmarshal(b, &l); err != nil || l.Kind != "Listing" {
		t.Fatalf("not a Listing: %v", err)
	}
	return l.Data.Children
}
