package x

import (
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

// TestRepoPayloads: the repository's own X payloads and what they must produce.
func TestRepoPayloads(t *testing.T) {
	marta := person("8000000000000000002", "marta_lopes", "Marta Lopes", "https://pbs.twimg.com/profile_images/1/marta_normal.jpg")
	platformtest.RunRepoPayloads(t, "x", map[string]func(*testing.T, []byte){
		"direct_message_events.json": func(t *testing.T, body []byte) {
			got, err := NewWebhook().Parse(body, platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: "8000000000000000001"})
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, got, []domain.PlatformItem{
				domain.PlatformMessage{PlatformMessageID: "1870000000000000001", ConversationID: "8000000000000000001-8000000000000000002",
					Direction: domain.Inbound, Prospect: marta, Text: "Hey, is the workshop still on Friday?", SentAt: ms(1767261840000)},
				domain.PlatformProfile{Prospect: marta}, // not the subscribed account's own
			})
		},
	})
}
