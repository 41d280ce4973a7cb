package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/apichannel"
	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/adapters/platforms/instagram"
	"github.com/switchboard-oss/switchboard/adapters/platforms/messenger"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit"
	"github.com/switchboard-oss/switchboard/adapters/platforms/telegram"
	"github.com/switchboard-oss/switchboard/adapters/platforms/whatsapp"
	"github.com/switchboard-oss/switchboard/adapters/platforms/x"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
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
		x.NewConnectedPoller(baseURLs, nil), // links connected by OAuth 2.0 (no Account Activity webhook)
	}
}

// connectService wires the connect flows of the configured apps, the platforms connected from
// pasted credentials, and the webhook registrars.
func connectService(cfg Config, app commands.App, e *engines, logger *slog.Logger) *connect.Service {
	c, b := cfg.Connect, cfg.PlatformBaseURLs
	var flows []connect.OAuth
	if c.Instagram.Configured() {
		flows = append(flows, instagram.NewConnect(c.Instagram, b))
	}
	if c.Meta.Configured() {
		flows = append(flows, meta.NewConnect(c.Meta, b, !c.Instagram.Configured()))
	}
	if c.X.Configured() {
		flows = append(flows, x.NewConnect(c.X, b))
	}
	if c.Reddit.Configured() {
		flows = append(flows, reddit.NewConnect(c.Reddit, b))
	}
	tg, bs := telegram.NewConnect(b), bluesky.NewConnect(b)
	return connect.NewService(connect.Deps{App: app, States: e.creds, Credentials: e.creds, Links: e.rm,
		PublicURL: c.PublicURL, Logger: logger}, flows, []connect.Direct{tg, bs},
		[]connect.Registrar{tg, meta.NewSubscriber(domain.PlatformMessenger, b), meta.NewSubscriber(domain.PlatformInstagram, b),
			meta.NewSubscriber(domain.PlatformWhatsApp, b)})
}

// refreshers lists the platforms whose tokens Switchboard renews.
func refreshers(cfg Config) []connect.Refresher {
	b := cfg.PlatformBaseURLs
	out := []connect.Refresher{bluesky.NewConnect(b)}
	if cfg.Connect.X.Configured() {
		out = append(out, x.NewRefresher(cfg.Connect.X, b))
	}
	if cfg.Connect.Instagram.Configured() {
		out = append(out, instagram.NewRefresher(cfg.Connect.Instagram, b))
	}
	return out
}

func (c ConnectConfig) validate() error {
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return errors.New("--public-url: must be an absolute http(s) URL such as https://inbox.example.com")
		}
	}
	for _, a := range []struct {
		flag string
		app  connect.App
	}{{"--meta-app", c.Meta}, {"--instagram-app", c.Instagram}, {"--x-client", c.X}, {"--reddit-client", c.Reddit}} {
		if (a.app.ClientID == "") != (a.app.ClientSecret == "") {
			return fmt.Errorf("%s-id and its secret go together: set both or neither", a.flag)
		}
	}
	return nil
}
