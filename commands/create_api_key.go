package commands

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"

	"github.com/switchboard-oss/switchboard/domain"
)

// CreateAPIKey creates a key that acts as a member.
type CreateAPIKey struct {
	MemberID string
}

// APIKeyResult holds the key, shown once: only its hash is recorded.
type APIKeyResult struct {
	Result
	KeyID, Key string
}

// CreateAPIKeyHandler handles CreateAPIKey.
type CreateAPIKeyHandler struct{ base }

// NewCreateAPIKeyHandler returns the handler.
func NewCreateAPIKeyHandler(d Deps) CreateAPIKeyHandler { return CreateAPIKeyHandler{base{d}} }

// Handle creates the key. Members create keys for themselves; owners and admins for members not
// above their own role. No idempotency key: a remembered outcome would have to keep the secret.
func (h CreateAPIKeyHandler) Handle(ctx context.Context, a Actor, c CreateAPIKey) (APIKeyResult, error) {
	if err := domain.RequireID("member_id", c.MemberID, domain.PrefixMember); err != nil {
		return APIKeyResult{}, err
	}
	key := NewAPIKey()
	id := domain.NewID(domain.PrefixKey)
	r, err := h.decideOnTeam(ctx, a.TeamID, "", func(t *domain.Team) ([]domain.Event, error) {
		e, err := t.CreateAPIKey(a.MemberID, domain.Role(a.Role), id, c.MemberID, h.Keys.Hash(key), KeyPrefix(key))
		return h.teamEvents1(a, "", "CreateApiKey", e, err)
	})
	if err != nil {
		return APIKeyResult{}, err
	}
	return APIKeyResult{Result: r, KeyID: id, Key: key}, nil
}

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAPIKey returns a new random key: "sb_" and 256 bits of randomness.
func NewAPIKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "sb_" + keyEncoding.EncodeToString(b[:])
}

// KeyPrefix is the part of a key kept to tell keys apart: "sb_" and 4 more characters (20 of
// its 256 random bits), never enough to guess it.
func KeyPrefix(key string) string {
	if r := []rune(key); len(r) > 7 {
		return string(r[:7])
	}
	return ""
}

// APIKeyHasher turns a key into the only form of it ever stored: hex HMAC-SHA256 under the
// instance's secret, so that a hash seen anywhere (an exported log, a backup) cannot be tested
// against guesses without that secret, even for a human-chosen bootstrap key.
type APIKeyHasher struct{ secret []byte }

// NewAPIKeyHasher returns a hasher under secret (the instance's; at least 16 bytes).
func NewAPIKeyHasher(secret []byte) APIKeyHasher {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("switchboard api key hashing v1"))
	return APIKeyHasher{secret: mac.Sum(nil)}
}

// Hash is the stored form of key.
func (h APIKeyHasher) Hash(key string) string {
	if h.secret == nil {
		panic("commands: APIKeyHasher without a secret")
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write([]byte(key))
	return hex.EncodeToString(mac.Sum(nil))
}

// Candidates are the forms key may be stored under: this hasher's, and the plain SHA-256 of the
// keys the first release created (which stay valid until revoked).
func (h APIKeyHasher) Candidates(key string) []string {
	sum := sha256.Sum256([]byte(key))
	return []string{h.Hash(key), hex.EncodeToString(sum[:])}
}
