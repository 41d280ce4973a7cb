// Package messenger is Facebook Messenger's webhook adapter: the Meta handshake and signature
// (adapters/platforms/meta) and bodies with object "page". The link's platform_id is the
// Page id; the prospect is the PSID.
package messenger

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/domain"
)

// Object is the "object" of Messenger webhook bodies.
const Object = "page"

type webhook struct{ meta.Signed }

// NewWebhook returns the Messenger webhook adapter.
func NewWebhook() platforms.Webhook { return webhook{} }

func (webhook) Platform() domain.Platform { return domain.PlatformMessenger }

// Parse reads entry[].messaging[] and entry[].standby[] (see meta.ParseMessaging).
func (webhook) Parse(body []byte, link platforms.Link) ([]domain.PlatformItem, error) {
	return meta.ParseMessaging(body, Object, link)
}
