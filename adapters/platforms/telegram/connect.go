package telegram

import (
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/domain"
)

// AllowedUpdates are the kinds of update setWebhook asks for: the ones the adapter models.
var AllowedUpdates = []string{"message", "edited_message"}

type botAPI struct {
	base   string
	client *http.Client
}

// NewConnect returns Telegram's connect dialect: a bot token pasted, verified with getMe,
// and the webhook set with setWebhook (removed with deleteWebhook on unlink).
func NewConnect(baseURLs platforms.BaseURLs) interface {
	connect.Direct
	connect.Registrar
} {
	return botAPI{base: strings.TrimRight(baseURLs.Get(domain.PlatformTelegram.String(), DefaultBaseURL), "/"), client: connect.Client}
}

func (botAPI) Platform() domain.Platform { return domain.PlatformTelegram }

type result[T any] struct {
	OK     bool `json:"ok"`
	Result T    `json:"result"`
}

// Verify calls getMe: the token is the bot's, and the bot's id is the link's platform id.
func (b botAPI) Verify(ctx context.Context, creds map[string]string) (connect.Asset, error) {
	token := strings.TrimSpace(creds[CredBotToken])
	if token == "" {
		return connect.Asset{}, &connect.Refused{Reason: "credentials.bot_token is required (the token BotFather gave)"}
	}
	var me result[struct {
		ID        int64  `json:"id"`
		IsBot     bool   `json:"is_bot"`
		FirstName string `json:"first_name"`
		Username  string `json:"username"`
	}]
	err := connect.Get(ctx, b.client, b.base+"/bot"+token+"/getMe", "telegram getMe", nil, "", nil, &me)
	var he *connect.HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusNotFound) {
		return connect.Asset{}, &connect.Refused{Reason: "Telegram refused the bot token"}
	}
	if err != nil {
		return connect.Asset{}, err
	}
	if !me.OK || me.Result.ID == 0 || !me.Result.IsBot {
		return connect.Asset{}, &connect.Refused{Reason: "the token is not a bot's"}
	}
	out := map[string]string{CredBotToken: token, connect.CredConnectedBy: "verified"}
	if s := creds[CredWebhookSecret]; s != "" {
		out[CredWebhookSecret] = s
	}
	id := strconv.FormatInt(me.Result.ID, 10)
	return connect.Asset{ID: "telegram:" + id, Platform: domain.PlatformTelegram, PlatformID: id, Username: me.Result.Username,
		DisplayName: me.Result.FirstName, Credentials: out}, nil
}

// Prepare generates the webhook secret a link was given without.
func (botAPI) Prepare(creds map[string]string) map[string]string {
	if creds[CredWebhookSecret] != "" || creds[CredBotToken] == "" {
		return nil
	}
	out := maps.Clone(creds)
	out[CredWebhookSecret] = rand.Text() // 26 base32 characters: within setWebhook's A-Z a-z 0-9 _ -
	return out
}

// Register calls setWebhook with the link's URL and its secret token.
func (b botAPI) Register(ctx context.Context, _ platforms.Link, creds map[string]string, webhookURL string) error {
	token := creds[CredBotToken]
	if token == "" || creds[CredWebhookSecret] == "" {
		return errors.New("the link has no bot_token or webhook_secret")
	}
	var ok result[bool]
	body := map[string]any{"url": webhookURL, "secret_token": creds[CredWebhookSecret], "allowed_updates": AllowedUpdates}
	if err := connect.PostJSON(ctx, b.client, b.base+"/bot"+token+"/setWebhook", "telegram setWebhook", body, "", &ok); err != nil {
		return err
	}
	if !ok.OK || !ok.Result {
		return errors.New("telegram setWebhook: not accepted")
	}
	return nil
}

// Unregister calls deleteWebhook.
func (b botAPI) Unregister(ctx context.Context, _ platforms.Link, creds map[string]string) error {
	token := creds[CredBotToken]
	if token == "" {
		return nil
	}
	var ok result[bool]
	return connect.PostJSON(ctx, b.client, b.base+"/bot"+token+"/deleteWebhook", "telegram deleteWebhook", map[string]any{}, "", &ok)
}
