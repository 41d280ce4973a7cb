// Package telegram speaks the Telegram Bot API: webhook Updates (authenticated by the secret
// token header) and getUpdates long polling.
//
// An account link is one bot: its platform_id is the bot's user id (the number before the
// colon of its token), its credentials are CredBotToken and CredWebhookSecret.
//
// Ids: Telegram's message_id is unique only inside its chat, so a platform message id is
// "<chat_id>:<message_id>" (e.g. "-1001293752024:134546"); the conversation id is the chat id.
// A private chat's id is the user's id, so a one-to-one thread's prospect is that user; a
// group or supergroup is one thread per chat whose messages each name their sender as the
// prospect (forum topics, message_thread_id, stay in the chat's one thread).
//
// Telegram refuses getUpdates while a webhook is set for the bot (and the other way round):
// a bot is either webhook-fed (setWebhook with secret_token) or polled, never both.
package telegram

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// Credential keys of a Telegram account link (LinkAccount credentials).
const (
	// CredBotToken is the token BotFather gave: getUpdates (and, later, sending) use it.
	CredBotToken = "bot_token"
	// CredWebhookSecret is the secret_token given to setWebhook (1-256 of A-Z a-z 0-9 _ -).
	CredWebhookSecret = "webhook_secret"
)

// SecretHeader carries the webhook's secret_token in every delivery.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

type webhook struct{}

// NewWebhook returns Telegram's webhook dialect.
func NewWebhook() platforms.Webhook { return webhook{} }

func (webhook) Platform() domain.Platform { return domain.PlatformTelegram }

// Handshake: Telegram has none (a webhook is registered with setWebhook), so GET is refused.
func (webhook) Handshake(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "telegram webhooks have no handshake: POST updates only", http.StatusMethodNotAllowed)
}

// Verify compares the secret header with the link's webhook secret in constant time. There is
// no signature over the body: the secret token is Telegram's only proof of origin. A link
// without a secret accepts nothing, or a request without the header would match it.
func (webhook) Verify(r *http.Request, _ []byte, creds map[string]string) error {
	secret := creds[CredWebhookSecret]
	got := r.Header.Get(SecretHeader)
	if secret == "" || got == "" {
		return fmt.Errorf("telegram: %w", platforms.ErrSignature)
	}
	// Comparing digests keeps the comparison constant-time whatever the lengths.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return fmt.Errorf("telegram: %w", platforms.ErrSignature)
	}
	return nil
}

// Parse turns one Update into platform items.
func (webhook) Parse(body []byte, link platforms.Link) ([]domain.PlatformItem, error) {
	items, _, err := updateItems(body, link)
	return items, err
}
