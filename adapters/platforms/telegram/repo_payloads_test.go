package telegram

import (
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

// TestRepoPayloads: the repository's own Telegram payloads and what they must produce, by
// webhook and by getUpdates alike.
func TestRepoPayloads(t *testing.T) {
	platformtest.RunRepoPayloads(t, "telegram", map[string]func(*testing.T, []byte){
		"message_text.update.json": func(t *testing.T, body []byte) {
			got, err := NewWebhook().Parse(body, testLink)
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, got, []domain.PlatformItem{domain.PlatformMessage{PlatformMessageID: "6000000001:42",
				ConversationID: "6000000001", Direction: domain.Inbound, Prospect: private(6000000001, "ines_d", "Ines Duarte"),
				Text: "Hi, what are your opening hours?", SentAt: time.Unix(1767261780, 0).UTC()}})
		},
	})
}
