package commands

import (
	"context"
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

// Handle creates the key. Members create keys for themselves; owners and admins for anyone.
// No idempotency key: a remembered outcome would have to keep the secret.
func (h CreateAPIKeyHandler) Handle(ctx context.Context, a Actor, c CreateAPIKey) (APIKeyResult, error) {
	if err := domain.RequireID("member_id", c.MemberID, domain.PrefixMember); err != nil {
		return APIKeyResult{}, err
	}
	key := NewAPIKey()
	id := domain.NewID(domain.PrefixKey)
	r, err := h.decideOnTeam(ctx, a.TeamID, "", func(t *domain.Team) ([]domain.Event, error) {
		e, err := t.CreateAPIKey(a.MemberID, domain.Role(a.Role), id, c.MemberID, HashAPIKey(key))
		return h.teamEvents1(a, "", "CreateApiKey", e, err)
	})
	if err != nil {
		return APIKeyResult{}, err
	}
	return APIKeyResult{Result: r, KeyID: id, Key: key}, err
}

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAPIKey returns a new random key: "sb_" and 256 bits of randomness.
func NewAPIKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "sb_" + keyEncoding.EncodeToString(b[:])
}

// HashAPIKey is the only form of a key that is ever stored: hex SHA-256. Keys are random and
// long, so a fast hash is enough (no password stretching needed).
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
