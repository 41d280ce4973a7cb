package server

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms"
)

// webhooks lists every platform's webhook adapter: adding a platform adds one line here.
func webhooks() []platforms.Webhook {
	return []platforms.Webhook{}
}
