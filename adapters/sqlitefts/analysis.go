package sqlitefts

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/segment"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// token is one searchable term of a text, and where it was in the text (bytes).
type token struct {
	term       string
	start, end int
}

// analyze cuts a text into the terms the index holds, the same way for a message and for a
// query, so that they meet:
//   - words by Unicode's rules (UAX #29); emoji and other symbols are words of their own;
//   - Chinese, Japanese, Korean and the scripts written without spaces (Thai, Lao, Khmer,
//     Myanmar) in overlapping bigrams made here, before indexing (東京大学 → 東京 京大 大学),
//     so any part of a word of two or more characters is found; a lone character is a term;
//   - every term folded: compatibility forms (NFKC), case (ß→ss), and the marks people leave
//     out (café→cafe, ё→е, Arabic vowel marks, Hebrew points, emoji skin tones); see fold.
//
// names also cuts at punctuation, for file names and usernames ("invoice_march.pdf" is found
// by "invoice"); the offsets of such terms are not used.
func analyze(text string, names bool) []token {
	if names {
		text = strings.Map(func(r rune) rune {
			if unicode.IsPunct(r) {
				return ' '
			}
			return r
		}, text)
	}
	raw := tokenize(text)
	out := bigrams(text, raw)
	var caser *cases.Caser // stateful: one per text, made when a term needs it
	kept := out[:0]
	for _, t := range out {
		if isASCII(t.term) {
			t.term = strings.ToLower(t.term)
		} else {
			if caser == nil {
				c := cases.Fold()
				caser = &c
			}
			t.term = fold(caser, t.term)
		}
		if t.term != "" {
			kept = append(kept, t)
		}
	}
	return kept
}

// rawToken is a token before bigrams: ideographic ones are cut into bigrams.
type rawToken struct {
	token
	ideographic bool
}

// tokenize splits text into words by UAX #29 and keeps what those rules leave out: emoji and
// symbols (one token each), Korean words (typed ideographic, since particles are written
// attached: bigrams find 서울 in 서울에서), and runs of letters of scripts without word breaks
// (typed ideographic too).
func tokenize(text string) []rawToken {
	var out []rawToken
	emit := func(start, end int, ideo bool) {
		out = append(out, rawToken{token{text[start:end], start, end}, ideo})
	}
	seg := segment.NewWordSegmenterDirect([]byte(text))
	start, runStart := 0, -1
	for seg.Segment() {
		b := seg.Bytes()
		end := start + len(b)
		typ := seg.Type()
		letters := typ == segment.None && isLetters(b)
		if runStart >= 0 && !letters {
			emit(runStart, start, true)
			runStart = -1
		}
		switch {
		case letters:
			if runStart < 0 {
				runStart = start
			}
		case typ == segment.Letter && isHangul(b):
			emit(start, end, true)
		case typ == segment.Ideo || typ == segment.Kana:
			emit(start, end, true)
		case typ != segment.None:
			emit(start, end, false)
		case isSymbol(b):
			emit(start, end, false)
		}
		start = end
	}
	if runStart >= 0 {
		emit(runStart, start, true)
	}
	return out
}

// bigrams cuts the characters of adjacent ideographic tokens into overlapping pairs; a run of
// one character stays a term (as Bleve's cjk_bigram filter did).
func bigrams(text string, in []rawToken) []token {
	out := make([]token, 0, len(in))
	var run [][2]int // the run's characters: start and end offsets
	flush := func() {
		switch len(run) {
		case 0:
		case 1:
			out = append(out, token{text[run[0][0]:run[0][1]], run[0][0], run[0][1]})
		default:
			for i := 1; i < len(run); i++ {
				out = append(out, token{text[run[i-1][0]:run[i][1]], run[i-1][0], run[i][1]})
			}
		}
		run = run[:0]
	}
	for _, t := range in {
		if !t.ideographic {
			flush()
			out = append(out, t.token)
			continue
		}
		if len(run) > 0 && run[len(run)-1][1] != t.start {
			flush()
		}
		for i, r := range t.term {
			run = append(run, [2]int{t.start + i, t.start + i + utf8.RuneLen(r)})
		}
	}
	flush()
	return out
}

// isLetters reports whether a segment is letters and their marks, with a letter.
func isLetters(b []byte) bool {
	letter := false
	for _, r := range string(b) {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case !unicode.IsMark(r):
			return false
		}
	}
	return letter
}

// isHangul reports whether a word is Korean only.
func isHangul(b []byte) bool {
	for _, r := range string(b) {
		if !unicode.Is(unicode.Hangul, r) {
			return false
		}
	}
	return true
}

// isSymbol reports whether a segment the word rules leave out is a symbol worth finding:
// an emoji, a pictograph, a flag.
func isSymbol(b []byte) bool {
	for _, r := range string(b) {
		if unicode.Is(unicode.So, r) {
			return true
		}
	}
	return false
}
func isASCII(b string) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// letters are Latin letters that no decomposition turns into plain ones.
var letters = map[rune]string{
	'æ': "ae", 'œ': "oe", 'ø': "o", 'đ': "d", 'ð': "d", 'ł': "l", 'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t",
}

// fold folds one non-ASCII term: compatibility forms are unified (NFKC: full-width letters,
// ligatures), case is folded fully (ß→ss, ς→σ, İ→i), and marks that people routinely leave out
// are removed: accents on Latin and Greek letters (café→cafe), the diaeresis of Russian ё (ё→е),
// Arabic vowel marks and tatweel, Hebrew points, and emoji presentation selectors and skin
// tones (👍🏽→👍). Marks that make a different letter elsewhere are kept (Cyrillic й, Devanagari
// vowel signs, Japanese dakuten).
func fold(caser *cases.Caser, s string) string {
	s = caser.String(norm.NFKC.String(s))
	var b strings.Builder
	b.Grow(len(s))
	var base rune
	for _, r := range norm.NFD.String(s) {
		switch {
		case r == 0xFE0E || r == 0xFE0F, // text/emoji presentation selectors
			r >= 0x1F3FB && r <= 0x1F3FF, // skin tone modifiers
			r == 0x0640:                  // Arabic tatweel (kashida), a stretching stroke
			continue
		}
		if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
			if dropMark(base, r) {
				continue
			}
			b.WriteRune(r)
			continue
		}
		base = r
		if l, ok := letters[r]; ok {
			b.WriteString(l)
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// dropMark reports whether the combining mark r after base is one that searchers leave out.
func dropMark(base, r rune) bool {
	switch {
	case unicode.Is(unicode.Latin, base), unicode.Is(unicode.Greek, base):
		return true
	case base == 'е' && r == 0x0308: // ё → е
		return true
	case r >= 0x064B && r <= 0x065F, r == 0x0670: // Arabic harakat, superscript alef
		return true
	case r >= 0x0591 && r <= 0x05C7: // Hebrew cantillation and points
		return true
	case r == 0x20E3: // keycap enclosure: 1️⃣ → 1
		return true
	}
	return false
}
