// Package instagram is Instagram Messaging's webhook adapter: the Meta handshake and signature
// (adapters/platforms/meta) and bodies with object "instagram", in the Messenger Platform
// dialect both Instagram Login and Facebook Login apps receive. The link's platform_id is
// the Instagram professional account id; the prospect is the IGSID.
package instagram

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/domain"
)

// Object is the "object" of Instagram webhook bodies.
const Object = "instagram"

type webhook struct{ meta.Signed }

// NewWebhook returns the Instagram webhook adapter.
func NewWebhook() platforms.Webhook { return webhook{} }

func (webhook) Platform() domain.Platform { return domain.PlatformInstagram }

// Parse reads entry[].messaging[] (see meta.ParseMessaging): story mentions and story replies
// carry an attachment of type story; unsent messages (is_deleted) are deletions; seen receipts
// (read.mid) are seen at the receipt's own time.
func (webhook) Parse(body []byte, link platforms.Link) ([]domain.PlatformItem, error) {
	return meta.ParseMessaging(body, Object, link)
}
