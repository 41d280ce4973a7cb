package whatsapp_test

import (
	"testing"

	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

// TestRepoPayloads: the repository's own WhatsApp payloads and what they must produce.
func TestRepoPayloads(t *testing.T) {
	pt.RunRepoPayloads(t, "whatsapp", map[string]func(*testing.T, []byte){
		"text_message.webhook_body.json": pt.MetaCheck(parse, "500000000000001", domain.PlatformMessage{
			PlatformMessageID: "wamid.SWITCHBOARDTEST0000000000000001", Direction: domain.Inbound,
			Prospect: domain.Participant{PlatformID: "351910000001", DisplayName: "Rui Costa"},
			Text:     "Can I change my delivery address?", SentAt: sec(1767261720)}),
	})
}
