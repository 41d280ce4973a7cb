package messenger_test

import (
	"testing"

	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

// TestRepoPayloads: the repository's own Messenger payloads and what they must produce.
func TestRepoPayloads(t *testing.T) {
	pt.RunRepoPayloads(t, "messenger", map[string]func(*testing.T, []byte){
		"text_message.webhook_body.json": pt.MetaCheck(parse, "100000000000001", domain.PlatformMessage{
			PlatformMessageID: "m_switchboard-test-messenger-1", Direction: domain.Inbound,
			Prospect: domain.Participant{PlatformID: "2000000000000001"}, Text: "Hello! Do you ship to Lisbon?",
			SentAt: ms(1767261600000)}),
	})
}
