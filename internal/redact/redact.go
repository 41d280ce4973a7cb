// Package redact removes credentials from text that may reach an error, a log line or a client.
package redact

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask replaces a secret.
const Mask = "[redacted]"

// MinAnywhere is the length from which a secret is masked wherever it appears. A shorter one
// could be a piece of any word: masking it inside "about" would print "[redacted]out" and so
// reveal it. It is masked only where it stands alone, between characters that are not letters
// or digits (key=ab&…).
const MinAnywhere = 8

// Secrets returns s without any of secrets, longest first (a secret that contains another is
// masked whole).
func Secrets(s string, secrets ...string) string {
	secrets = slices.DeleteFunc(slices.Clone(secrets), func(x string) bool { return x == "" })
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, sec := range secrets {
		if len(sec) >= MinAnywhere {
			s = strings.ReplaceAll(s, sec, Mask)
		} else {
			s = standalone(s, sec)
		}
	}
	return s
}

// standalone masks sec where it is not glued to a letter or digit.
func standalone(s, sec string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, sec)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+len(sec):])
		b.WriteString(s[:i])
		if word(before) || word(after) {
			b.WriteString(sec)
		} else {
			b.WriteString(Mask)
		}
		s = s[i+len(sec):]
	}
}

func word(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
