// Package x speaks X's direct messages: Account Activity API (AAA) and X Activity API (XAA)
// webhooks, with their CRC handshake and body signature, and v2 GET /2/dm_events polling.
//
// An account link is one X user: its platform_id is the user id (a decimal snowflake). Its
// credentials: CredConsumerKey and CredConsumerSecret (the app's; the secret signs CRC answers
// and webhook bodies), CredAccessToken and CredAccessTokenSecret (the user's OAuth 1.0a token,
// which signs the polling requests). CredBearerToken, when set, replaces the OAuth 1.0a
// signature for polling: it must be an OAuth 2.0 user-context token with the dm.read,
// tweet.read and users.read scopes, since X refuses app-only tokens on DM endpoints.
//
// Ids: a DM event id is the platform message id (shared by v1.1, AAA and v2). The conversation
// id of a one-to-one chat is "<smaller user id>-<larger user id>", the ids compared as numbers:
// the form v2 returns as dm_conversation_id, so a message brought by a webhook and by a poll
// lands in the same thread. Group conversations keep their own id.
package x

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// Credential keys of an X account link (LinkAccount credentials).
const (
	CredConsumerKey       = "consumer_key"
	CredConsumerSecret    = "consumer_secret"
	CredAccessToken       = "access_token"
	CredAccessTokenSecret = "access_token_secret"
	CredBearerToken       = "bearer_token"
)

// SignatureHeader carries "sha256=" + base64 HMAC-SHA256(consumer secret, raw body).
const SignatureHeader = "X-Twitter-Webhooks-Signature"

type webhook struct{}

// NewWebhook returns X's webhook dialect (AAA and XAA bodies alike).
func NewWebhook() platforms.Webhook { return webhook{} }

func (webhook) Platform() domain.Platform { return domain.PlatformX }

// Handshake answers X's challenge-response check (at registration, then about hourly): the
// crc_token signed with the consumer secret. A failed check makes X stop delivering.
func (webhook) Handshake(w http.ResponseWriter, r *http.Request, creds map[string]string) {
	token := r.URL.Query().Get("crc_token")
	if token == "" {
		http.Error(w, "crc_token is required", http.StatusBadRequest)
		return
	}
	secret := creds[CredConsumerSecret]
	if secret == "" {
		// Without the secret no answer could be right: say so rather than answer wrongly.
		http.Error(w, "the account link has no consumer_secret", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"response_token": sign(secret, []byte(token))})
}

// Verify checks the body's signature in constant time.
func (webhook) Verify(r *http.Request, body []byte, creds map[string]string) error {
	secret := creds[CredConsumerSecret]
	got := r.Header.Get(SignatureHeader)
	if secret == "" || got == "" || !hmac.Equal([]byte(got), []byte(sign(secret, body))) {
		return fmt.Errorf("x: %w", platforms.ErrSignature)
	}
	return nil
}

// Parse turns an AAA or XAA delivery into platform items.
func (webhook) Parse(body []byte, link platforms.Link) ([]domain.PlatformItem, error) {
	return activityItems(body, link)
}

// sign is X's "sha256=" + base64(HMAC-SHA256(consumer secret, message)).
func sign(secret string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
