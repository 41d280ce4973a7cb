package instagram_test

import (
	"testing"
	"time"

	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/domain"
)

// TestRepoPayloads: the repository's own Instagram payloads and what they must produce.
func TestRepoPayloads(t *testing.T) {
	pt.RunRepoPayloads(t, "instagram", map[string]func(*testing.T, []byte){
		"text_message.webhook_body.json": pt.MetaCheck(parse, "17841400000000001", domain.PlatformMessage{
			PlatformMessageID: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAx", Direction: domain.Inbound,
			Prospect: domain.Participant{PlatformID: "3000000000000001"}, Text: "Is the green jacket still available?",
			SentAt: time.UnixMilli(1767261660000).UTC()}),
	})
}
