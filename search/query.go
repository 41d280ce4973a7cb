package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-oss/switchboard/domain"
)

// ClauseKind says how a clause matches.
type ClauseKind int

const (
	// Word matches the analyzed word anywhere in the text (accent- and case-insensitive).
	Word ClauseKind = iota
	// Phrase matches the words in this order, next to each other.
	Phrase
	// Prefix matches any word starting with Text.
	Prefix
)

// Clause is one part of a query.
type Clause struct {
	Kind ClauseKind
	Text string
}

// Terms is a parsed query: every Must clause matches, no MustNot clause does. No clause at
// all matches every message (filters still apply).
type Terms struct {
	Must    []Clause
	MustNot []Clause
}

// Limits of a query.
const (
	MaxQueryLength = 1000
	MaxClauses     = 32
)

// ParseQuery parses the user's syntax: words (all must match), "exact phrases", prefix*,
// and -excluded words or -"phrases".
func ParseQuery(s string) (Terms, error) {
	var t Terms
	if !utf8.ValidString(s) {
		return t, domain.Invalid("query", "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxQueryLength {
		return t, domain.Invalid("query", "must be at most %d characters", MaxQueryLength)
	}
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if unicode.IsSpace(rs[i]) {
			i++
			continue
		}
		neg := false
		if rs[i] == '-' && i+1 < len(rs) && !unicode.IsSpace(rs[i+1]) {
			neg = true
			i++
		}
		var c Clause
		if rs[i] == '"' {
			end := i + 1
			for end < len(rs) && rs[end] != '"' {
				end++
			}
			if end == len(rs) {
				return Terms{}, domain.Invalid("query", "has an unclosed quote")
			}
			c = Clause{Kind: Phrase, Text: strings.TrimSpace(string(rs[i+1 : end]))}
			i = end + 1
			if c.Text == "" {
				continue
			}
			if !strings.ContainsFunc(c.Text, unicode.IsSpace) {
				c.Kind = Word // a one-word phrase is a word
			}
		} else {
			end := i
			for end < len(rs) && !unicode.IsSpace(rs[end]) {
				end++
			}
			word := string(rs[i:end])
			i = end
			switch {
			case strings.HasSuffix(word, "*"):
				word = strings.TrimRight(word, "*")
				if word == "" {
					return Terms{}, domain.Invalid("query", "a prefix needs at least one character before *")
				}
				c = Clause{Kind: Prefix, Text: word}
			default:
				c = Clause{Kind: Word, Text: word}
			}
		}
		if neg {
			t.MustNot = append(t.MustNot, c)
		} else {
			t.Must = append(t.Must, c)
		}
		if len(t.Must)+len(t.MustNot) > MaxClauses {
			return Terms{}, domain.Invalid("query", "must have at most %d words, phrases and prefixes", MaxClauses)
		}
	}
	return t, nil
}
