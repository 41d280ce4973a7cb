package connectrpc

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// Positions turns the log's cursors into the opaque position tokens the API hands to a team,
// and back. It is the ONE place where positions cross the API: every `position`,
// `next_position`, `after_position` and the Switchboard-Consistency-Token header go through
// Encode and Decode.
//
// Why: log positions are global, so raw ones ("0-42") let a team read the volume of every other
// team from the gaps between its own. A token is the cursor sealed with an AEAD under a key
// derived from the instance secret, with the team's id as additional data: only that team's
// calls accept it, and it reveals nothing of the offsets inside.
//
// Tokens are NOT deterministic: each Encode draws a fresh random nonce, so the same cursor
// gives a different token every time. A deterministic scheme (AES-SIV) would let a client test
// two tokens for equality: whether the log moved for it between two answers, which saved
// tokens name one event; a small leak that no client needs (events carry event_id to
// deduplicate), and the standard library has no deterministic AEAD. The plaintext has a fixed
// width per partition, so a token's length does not grow with the offsets either: it only says
// how many partitions the cursor names, partitions the team's own events are in.
//
// The AEAD is XChaCha20-Poly1305 (golang.org/x/crypto), not AES-GCM: random nonces are only
// safe while they do not repeat, and GCM's 96-bit ones are bounded to 2^32 messages per key
// (NIST SP 800-38D), which a deployment that mints a token per event streamed could pass in
// weeks; the 192-bit nonces of XChaCha20 have no such bound in practice.
//
// Raw positions are refused (see Decode): accepting them, even for a release, would let a
// team probe the log (after_position "0-N" for many N, or a consistency header it waits on)
// and so learn its own events' global offsets, the leak this closes.
type Positions struct{ aead cipher.AEAD }

// positionFormat is the first plaintext byte: the layout of what follows.
const positionFormat = 1

// positionEntryBytes is one partition in the plaintext: its number and its offset, fixed width.
const positionEntryBytes = 4 + 8

// positionKeyInfo separates this key from every other use of the instance secret.
const positionKeyInfo = "switchboard position tokens v1"

// maxPositionTokenChars bounds a token (what Decode looks at): 4096 characters hold a cursor
// of some 300 partitions.
const maxPositionTokenChars = 4096

// NewPositions returns the codec of a deployment: every process built from the same instance
// secret (SWITCHBOARD_SECRET_KEY, the data folder's secret.key, or PostgreSQL's
// instance_secrets) accepts the others' tokens. The secret must have at least 16 bytes.
func NewPositions(secret []byte) (*Positions, error) {
	if len(secret) < 16 {
		return nil, errors.New("position tokens: the instance secret is shorter than 16 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, positionKeyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("position tokens: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("position tokens: %w", err)
	}
	return &Positions{aead: aead}, nil
}

// additionalData binds a token to its team.
func positionAD(teamID string) []byte {
	return append([]byte("switchboard.position\x00"), teamID...)
}

// Encode returns the team's token for cursor c; "" for the start of the log (an empty cursor),
// which every team may send.
func (p *Positions) Encode(teamID string, c eventlog.Cursor) string {
	if len(c) == 0 {
		return ""
	}
	parts := make([]int32, 0, len(c))
	for part := range c {
		parts = append(parts, part)
	}
	slices.Sort(parts)
	plain := make([]byte, 1, 1+positionEntryBytes*len(parts))
	plain[0] = positionFormat
	for _, part := range parts {
		plain = binary.BigEndian.AppendUint32(plain, uint32(part))
		plain = binary.BigEndian.AppendUint64(plain, uint64(c[part]))
	}
	nonce := make([]byte, p.aead.NonceSize(), p.aead.NonceSize()+len(plain)+p.aead.Overhead())
	rand.Read(nonce) // never fails (it crashes the program first)
	return base64.RawURLEncoding.EncodeToString(p.aead.Seal(nonce, nonce, plain, positionAD(teamID)))
}

// EncodePosition returns the team's token for the cursor that ends at pos (what an event's
// `position` is).
func (p *Positions) EncodePosition(teamID string, pos eventlog.Position) string {
	return p.Encode(teamID, eventlog.Cursor{pos.Partition: pos.Offset})
}

// encodeResult turns the raw position a command answered (eventlog.Position's form, or "" when
// it appended nothing) into the team's token.
func (p *Positions) encodeResult(teamID, raw string) string {
	if raw == "" {
		return ""
	}
	pos, err := eventlog.ParsePosition(raw)
	if err != nil {
		// Commands answer Position.String(); anything else is a bug, and no raw text leaves.
		return ""
	}
	return p.EncodePosition(teamID, pos)
}

// rawPositions matches what the API answered before tokens: "partition-offset[,…]".
var rawPositions = regexp.MustCompile(`^\s*\d+-\d+\s*(,\s*\d+-\d+\s*)*$`)

// Decode returns the cursor of a token this team received ("" is the start of the log). Any
// other input (a token of another team or of another deployment, an altered token, a raw
// position, garbage) is a domain.Invalid error naming field, which echoes none of the token.
func (p *Positions) Decode(teamID, field, token string) (eventlog.Cursor, error) {
	if token == "" {
		return eventlog.Cursor{}, nil
	}
	if len(token) > maxPositionTokenChars {
		return nil, domain.Invalid(field, "must be a position token the API answered (at most %d characters), got %d characters", maxPositionTokenChars, len(token))
	}
	if rawPositions.MatchString(token) {
		return nil, domain.Invalid(field, "raw log positions like 0-42 are no longer accepted: send the opaque position token the API answered (see the README, Security)")
	}
	const refused = "is not a position token of this team: send a position the API answered to this team, unchanged"
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, domain.Invalid(field, refused)
	}
	if len(sealed) < p.aead.NonceSize() {
		return nil, domain.Invalid(field, refused)
	}
	nonce, sealed := sealed[:p.aead.NonceSize()], sealed[p.aead.NonceSize():]
	plain, err := p.aead.Open(nil, nonce, sealed, positionAD(teamID))
	if err != nil || len(plain) < 1+positionEntryBytes || plain[0] != positionFormat || (len(plain)-1)%positionEntryBytes != 0 {
		return nil, domain.Invalid(field, refused)
	}
	c := eventlog.Cursor{}
	for b := plain[1:]; len(b) > 0; b = b[positionEntryBytes:] {
		part, off := int32(binary.BigEndian.Uint32(b)), int64(binary.BigEndian.Uint64(b[4:]))
		if part < 0 || off < 0 {
			return nil, domain.Invalid(field, refused)
		}
		c[part] = off
	}
	return c, nil
}

// mergeCursor moves dst past every position of src: the cursor that covers both.
func mergeCursor(dst, src eventlog.Cursor) {
	for part, off := range src {
		dst.Advance(eventlog.Position{Partition: part, Offset: off})
	}
}
