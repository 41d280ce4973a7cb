package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// Secrets derives each subscription's signing secret from the instance's secret and the
// subscription id: nothing to store, the same in every process, never in an event.
type Secrets struct{ key []byte }

// NewSecrets returns the deriver of an instance secret.
func NewSecrets(instanceSecret []byte) Secrets {
	return Secrets{key: append([]byte(nil), instanceSecret...)}
}

// For returns the subscription's signing secret.
func (s Secrets) For(subscriptionID string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("switchboard webhook signing secret\x00" + subscriptionID))
	return SecretPrefix + hex.EncodeToString(m.Sum(nil))
}

// Signature is the Switchboard-Signature header of body sent at t with secret:
// t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")> (Stripe's scheme).
func Signature(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
