package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
)

// Credential keys of a Meta account link (LinkAccount credentials).
const (
	CredAppSecret   = "app_secret"
	CredVerifyToken = "verify_token"
	CredAccessToken = "access_token"
)

// SignatureHeader carries "sha256=" + hex HMAC-SHA256(app secret, raw body).
const SignatureHeader = "X-Hub-Signature-256"

// Signed is the Graph webhook handshake and signature check, the same for every Meta product.
type Signed struct{}

// Handshake answers Meta's subscription check: hub.mode=subscribe with the link's verify token
// gets hub.challenge back raw with 200; anything else gets 403. A link without a verify token
// never passes (an empty token would let anyone subscribe).
func (Signed) Handshake(w http.ResponseWriter, r *http.Request, creds map[string]string) {
	q := r.URL.Query()
	want := creds[CredVerifyToken]
	if q.Get("hub.mode") != "subscribe" || want == "" || !equalSecret(q.Get("hub.verify_token"), want) {
		http.Error(w, "verification failed", http.StatusForbidden)
		return
	}
	// Raw, as Meta requires; text/plain and nosniff so a browser never renders the echo.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
}

// equalSecret compares in constant time, hashing first so not even the length leaks.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// Verify checks X-Hub-Signature-256 over the raw body with the link's app secret.
func (Signed) Verify(r *http.Request, body []byte, creds map[string]string) error {
	return VerifySignature(r.Header.Get(SignatureHeader), body, creds[CredAppSecret])
}

// VerifySignature checks one X-Hub-Signature-256 value; every failure wraps
// platforms.ErrSignature.
func VerifySignature(header string, body []byte, appSecret string) error {
	if appSecret == "" {
		return fmt.Errorf("%w: the account link has no %s", platforms.ErrSignature, CredAppSecret)
	}
	digest, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return fmt.Errorf("%w: no sha256= signature", platforms.ErrSignature)
	}
	got, err := hex.DecodeString(digest)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: malformed signature", platforms.ErrSignature)
	}
	if !hmac.Equal(got, mac(body, appSecret)) {
		return platforms.ErrSignature
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body (tests and tools).
func Sign(body []byte, appSecret string) string {
	return "sha256=" + hex.EncodeToString(mac(body, appSecret))
}

func mac(body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}
