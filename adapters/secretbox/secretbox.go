// Package secretbox seals small secrets (platform credentials) with AES-256-GCM, so they are
// never at rest in clear.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// EnvKey names the environment variable that holds the key.
const EnvKey = "SWITCHBOARD_SECRET_KEY"

const nonceSize = 12

// ErrOpen is returned when a ciphertext was tampered with, or sealed with another key or aad.
var ErrOpen = errors.New("secretbox: message authentication failed")

// Box seals and opens with one key. It is safe for concurrent use.
type Box struct{ aead cipher.AEAD }

// New returns a box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad, returning nonce || ciphertext || tag. A random nonce
// per message is safe for far more messages than credentials will ever see.
func (b *Box) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("secretbox: nonce: %w", err)
	}
	return b.aead.Seal(out, out, plaintext, aad), nil
}

// Open decrypts what Seal returned for the same aad; ErrOpen when it does not authenticate.
func (b *Box) Open(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < nonceSize+b.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, ciphertext[:nonceSize], ciphertext[nonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// LoadKey returns the key: from envValue (the value of SWITCHBOARD_SECRET_KEY) when set, else
// from keyFile, which is created with a new random key when it does not exist yet. Errors never
// contain key material.
func LoadKey(envValue, keyFile string) ([]byte, error) {
	if strings.TrimSpace(envValue) != "" {
		key, ok := decodeKey(envValue)
		if !ok {
			return nil, fmt.Errorf("%s must be %d bytes encoded as base64 or hex", EnvKey, KeySize)
		}
		return key, nil
	}
	if keyFile == "" {
		return nil, fmt.Errorf("no secret key: set %s or give a key file", EnvKey)
	}
	b, err := os.ReadFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(keyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	key, ok := decodeKey(string(b))
	if !ok {
		return nil, fmt.Errorf("secret key file %s must hold %d bytes encoded as base64 or hex", keyFile, KeySize)
	}
	return key, nil
}

// decodeKey accepts the encodings people paste: base64 (padded or not, std or url) and hex.
// The lengths differ (44/43 against 64 characters), so no input is ambiguous.
func decodeKey(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, true
		}
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) == KeySize {
		return k, true
	}
	return nil, false
}

func createKeyFile(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create secret key folder: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	// Written whole to a temporary file, then linked into place: a concurrent starter never
	// sees a half-written key, and the loser of a race reads the winner's key instead of
	// replacing it (which would make the winner's sealed secrets unreadable).
	f, err := os.CreateTemp(dir, ".secret-key-*")
	if err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	}
	if err == nil {
		err = f.Sync() // a key lost in a crash would make every sealed credential unreadable
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return LoadKey("", path)
	} else if err != nil {
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	return key, nil
}

// SealCredentials seals an account link's credentials, bound to its team and link: a sealed
// value moved to another link (or team) does not open. Every credential store uses it, so
// sealed rows mean the same in each.
func (b *Box) SealCredentials(teamID, accountLinkID string, creds map[string]string) ([]byte, error) {
	plain, err := json.Marshal(creds)
	if err != nil {
		return nil, fmt.Errorf("encode credentials: %w", err)
	}
	defer clear(plain)
	return b.Seal(plain, credentialAAD(teamID, accountLinkID))
}

// OpenCredentials opens what SealCredentials sealed for the same team and link.
func (b *Box) OpenCredentials(teamID, accountLinkID string, sealed []byte) (map[string]string, error) {
	plain, err := b.Open(sealed, credentialAAD(teamID, accountLinkID))
	if err != nil {
		return nil, fmt.Errorf("credentials of account link %s do not open (another secret key, or a row moved from another link): %w", accountLinkID, err)
	}
	defer clear(plain)
	creds := map[string]string{}
	if err := json.Unmarshal(plain, &creds); err != nil {
		// Not %w: a JSON error can quote the input, which is the secret.
		return nil, fmt.Errorf("credentials of account link %s are not a JSON object", accountLinkID)
	}
	return creds, nil
}

// credentialAAD binds a sealed value to its team and link. Length-prefixed, so ("ab", "c")
// and ("a", "bc") differ.
func credentialAAD(teamID, accountLinkID string) []byte {
	b := []byte("switchboard.credentials.v1")
	for _, s := range []string{teamID, accountLinkID} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}
