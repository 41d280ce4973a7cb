package baseline

import (
	"strings"
	"unicode"
)

// ToTSQuery translates the SearchMessages syntax to a PostgreSQL tsquery string for the 'simple'
// configuration: words AND-ed, "a b" → (a <-> b), pre* → pre:*, -w → !w. Exported for the test.
//
// Every lexeme is emitted quoted ('…', with ' and \ doubled), so no character of the user's text
// is ever read as a tsquery operator; to_tsquery then splits a quoted word exactly as to_tsvector
// split the indexed text (don't → 'don' <-> 't'). Words without a letter or digit are dropped:
// they cannot match anything. An unclosed quote runs to the end of the text (SearchMessages
// rejects it instead; a baseline has no error to report). No clause at all gives "", which
// Search reads as "match every message", as SearchMessages does.
func ToTSQuery(text string) string {
	var parts []string
	rs := []rune(text)
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
		var clause string
		if rs[i] == '"' {
			end := i + 1
			for end < len(rs) && rs[end] != '"' {
				end++
			}
			clause = tsPhrase(strings.Fields(string(rs[i+1 : end])))
			i = end + 1
		} else {
			end := i
			for end < len(rs) && !unicode.IsSpace(rs[end]) {
				end++
			}
			word := string(rs[i:end])
			i = end
			if trimmed := strings.TrimRight(word, "*"); trimmed != word {
				if clause = tsLexeme(trimmed); clause != "" {
					clause += ":*"
				}
			} else {
				clause = tsLexeme(word)
			}
		}
		if clause == "" {
			continue
		}
		if neg {
			clause = "!" + clause
		}
		parts = append(parts, clause)
	}
	return strings.Join(parts, " & ")
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
