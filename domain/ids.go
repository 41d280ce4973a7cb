package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// ID prefixes: every id says what it names.
const (
	PrefixTeam     = "team_"
	PrefixMember   = "mem_"
	PrefixKey      = "key_"
	PrefixAccount  = "acc_"
	PrefixThread   = "thr_"
	PrefixProspect = "prs_"
	PrefixMessage  = "msg_"
	PrefixTag      = "tag_"
	PrefixStatus   = "sts_"
	PrefixEvent    = "evt_"
	PrefixWebhook  = "whs_"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DeriveID returns prefix + a stable 26-character digest of the parts: the same parts always
// give the same id, whichever path brought them.
func DeriveID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		var n [4]byte
		l := len(p)
		n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return prefix + idEncoding.EncodeToString(h.Sum(nil)[:16])
}

// NewID returns prefix + 26 random characters.
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + idEncoding.EncodeToString(b[:])
}

// HasPrefix reports whether id is well formed for prefix.
func HasPrefix(id, prefix string) bool {
	if !strings.HasPrefix(id, prefix) || len(id) != len(prefix)+26 {
		return false
	}
	for _, c := range id[len(prefix):] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// ThreadID derives a thread's id from its conversation.
func ThreadID(teamID string, p Platform, accountLinkID, platformConversationID string) string {
	return DeriveID(PrefixThread, teamID, p.String(), accountLinkID, platformConversationID)
}

// ProspectID derives a prospect's id: one per person and platform, shared by the team's links.
func ProspectID(teamID string, p Platform, platformUserID string) string {
	return DeriveID(PrefixProspect, teamID, p.String(), platformUserID)
}

// MessageID derives a received message's id, so every path that brings it agrees.
func MessageID(teamID string, p Platform, accountLinkID, platformMessageID string) string {
	return DeriveID(PrefixMessage, teamID, p.String(), accountLinkID, platformMessageID)
}

// AccountLinkID derives an account link's id, so relinking an account keeps its history.
func AccountLinkID(teamID string, p Platform, platformID string) string {
	return DeriveID(PrefixAccount, teamID, p.String(), platformID)
}
