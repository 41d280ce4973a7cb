package domain

import (
	"math"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// RequireID checks that a required id is present and well formed for its prefix.
func RequireID(field, id, prefix string) error {
	if id == "" {
		return Invalid(field, "is required")
	}
	return CheckID(field, id, prefix)
}

// CheckID checks an optional id: empty, or well formed for its prefix.
func CheckID(field, id, prefix string) error {
	if id != "" && !HasPrefix(id, prefix) {
		return Invalid(field, "must be an id starting with %q", prefix)
	}
	return nil
}

// Name validates a required human name (tags, statuses, teams): trimmed, 1..max characters.
func Name(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid(field, "is required")
	}
	return s, MaxLen(field, s, max)
}

// MaxLen checks a length in characters.
func MaxLen(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Invalid(field, "must be at most %d characters, got %d", max, n)
	}
	return nil
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Color validates an optional #rrggbb color.
func Color(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if !colorRE.MatchString(s) {
		return "", Invalid(field, "must be a color like #ff8800")
	}
	return strings.ToLower(s), nil
}

// Email validates an email address.
func Email(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid(field, "is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", Invalid(field, "must be an email address like ana@example.com")
	}
	return strings.ToLower(s), nil
}

// Role is a member's role.
type Role string

const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
	RoleAgent Role = "agent"
)

// ParseRole validates a role; empty means agent.
func ParseRole(field, s string) (Role, error) {
	switch Role(s) {
	case "":
		return RoleAgent, nil
	case RoleOwner, RoleAdmin, RoleAgent:
		return Role(s), nil
	}
	return "", Invalid(field, "must be owner, admin or agent")
}

// ProspectContext is the team's own data on a prospect, validated.
type ProspectContext struct {
	Notes        string
	Valuation    float64
	CustomFields map[string]string
}

// Limits of a prospect's context.
const (
	MaxNotes            = 10000
	MaxCustomFields     = 50
	MaxCustomFieldKey   = 64
	MaxCustomFieldValue = 1000
)

// NewProspectContext validates notes, valuation and custom fields.
func NewProspectContext(notes string, valuation float64, fields map[string]string) (ProspectContext, error) {
	if err := MaxLen("notes", notes, MaxNotes); err != nil {
		return ProspectContext{}, err
	}
	if math.IsNaN(valuation) || math.IsInf(valuation, 0) || valuation < 0 {
		return ProspectContext{}, Invalid("valuation", "must be a finite number, zero or more")
	}
	if len(fields) > MaxCustomFields {
		return ProspectContext{}, Invalid("custom_fields", "must have at most %d entries", MaxCustomFields)
	}
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		if strings.TrimSpace(k) == "" {
			return ProspectContext{}, Invalid("custom_fields", "keys must not be empty")
		}
		if err := MaxLen("custom_fields", k, MaxCustomFieldKey); err != nil {
			return ProspectContext{}, Invalid("custom_fields", "key %q is longer than %d characters", k, MaxCustomFieldKey)
		}
		if err := MaxLen("custom_fields", v, MaxCustomFieldValue); err != nil {
			return ProspectContext{}, Invalid("custom_fields", "value of %q is longer than %d characters", k, MaxCustomFieldValue)
		}
		out[k] = v
	}
	return ProspectContext{Notes: notes, Valuation: valuation, CustomFields: out}, nil
}
