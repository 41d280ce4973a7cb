package server

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/instagram"
	"github.com/switchboard-oss/switchboard/adapters/platforms/messenger"
	"github.com/switchboard-oss/switchboard/adapters/platforms/telegram"
	"github.com/switchboard-oss/switchboard/adapters/platforms/whatsapp"
	"github.com/switchboard-oss/switchboard/adapters/platforms/x"
)

// webhooks lists every platform's webhook adapter: adding a platform adds one line here.
func webhooks() []platforms.Webhook {
	return []platforms.Webhook{
		messenger.NewWebhook(),
		instagram.NewWebhook(),
		whatsapp.NewWebhook(),
		telegram.NewWebhook(),
		x.NewWebhook(),
	}
}
