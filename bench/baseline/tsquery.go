package baseline

import (
	"strings"
	"unicode"

	"github.com/switchboard-oss/switchboard/search"
)

// ToTSQuery translates a SearchMessages query to a PostgreSQL tsquery string for the 'simple'
// configuration. The query is parsed by search.ParseQuery, the parser SearchMessages itself
// uses, so the baseline reads exactly the same language and refuses what it refuses; the clauses
// become: words AND-ed, "a b" → (a <-> b), pre* → pre:*, -w → !w. Exported for the test.
//
// Every lexeme is emitted quoted ('…', with ' and \ doubled), so no character of the user's text
// is ever read as a tsquery operator; to_tsquery then splits a quoted word exactly as to_tsvector
// split the indexed text (don't → 'don' <-> 't'). Words without a letter or digit are dropped:
// they cannot match anything. No clause at all gives "", which Search reads as "match every
// message", as SearchMessages does.
func ToTSQuery(text string) (string, error) {
	terms, err := search.ParseQuery(text)
	if err != nil {
		return "", err
	}
	var parts []string
	add := func(c search.Clause, neg bool) {
		var s string
		switch c.Kind {
		case search.Phrase:
			s = tsPhrase(strings.Fields(c.Text))
		case search.Prefix:
			if s = tsLexeme(c.Text); s != "" {
				s += ":*"
			}
		default:
			s = tsLexeme(c.Text)
		}
		if s == "" {
			return
		}
		if neg {
			s = "!" + s
		}
		parts = append(parts, s)
	}
	for _, c := range terms.Must {
		add(c, false)
	}
	for _, c := range terms.MustNot {
		add(c, true)
	}
	return strings.Join(parts, " & "), nil
}

// tsPhrase joins words with <-> (followed by); a one-word phrase is a plain word.
func tsPhrase(words []string) string {
	var lexemes []string
	for _, w := range words {
		if l := tsLexeme(w); l != "" {
			lexemes = append(lexemes, l)
		}
	}
	switch len(lexemes) {
	case 0:
		return ""
	case 1:
		return lexemes[0]
	}
	return "(" + strings.Join(lexemes, " <-> ") + ")"
}

// tsLexeme quotes a lower-cased word as a tsquery lexeme, or returns "" when the word has no
// letter or digit.
func tsLexeme(word string) string {
	if !strings.ContainsFunc(word, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return ""
	}
	word = strings.ToLower(strings.ReplaceAll(word, "\x00", "")) // PostgreSQL text cannot hold NUL
	word = strings.ReplaceAll(word, `\`, `\\`)
	word = strings.ReplaceAll(word, `'`, `''`)
	return "'" + word + "'"
}
