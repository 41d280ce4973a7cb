package server

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/apichannel"
	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky"
	"github.com/switchboard-oss/switchboard/adapters/platforms/instagram"
	"github.com/switchboard-oss/switchboard/adapters/platforms/messenger"
	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit"
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

// senders lists every platform's reply sender: adding one adds one line here.
func senders(baseURLs platforms.BaseURLs) []platforms.Sender {
	return []platforms.Sender{
		telegram.NewSender(baseURLs, nil),
		messenger.NewSender(baseURLs),
		instagram.NewSender(baseURLs),
		apichannel.NewSender(),
		whatsapp.NewSender(baseURLs),
		x.NewSender(baseURLs, nil),
		bluesky.NewSender(baseURLs, nil),
		reddit.NewSender(baseURLs, nil),
	}
}

// pollers lists the adapters of platforms without webhooks, polled by the scheduler: adding
// one adds one line here. (Telegram's getUpdates and X's dm_events pollers are not listed:
// those links are fed by their webhooks, and Telegram refuses getUpdates to a bot that has one.)
func pollers(baseURLs platforms.BaseURLs) []platforms.Poller {
	return []platforms.Poller{
		bluesky.NewPoller(baseURLs, nil),
		reddit.NewPoller(baseURLs, nil),
	}
}
