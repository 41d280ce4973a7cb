package bleve

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/segment"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Names in bleve's global registry. The analyzers that use them are stored in each index's
// mapping, so the names are frozen like the mapping (see mappingVersion).
const (
	tokenizerName = "switchboard_words"
	foldName      = "switchboard_fold"
)

func init() {
	if err := registry.RegisterTokenizer(tokenizerName, func(map[string]interface{}, *registry.Cache) (analysis.Tokenizer, error) {
		return wordTokenizer{}, nil
	}); err != nil {
		panic(err)
	}
	if err := registry.RegisterTokenFilter(foldName, func(map[string]interface{}, *registry.Cache) (analysis.TokenFilter, error) {
		return foldFilter{}, nil
	}); err != nil {
		panic(err)
	}
}

// wordTokenizer splits text into words by Unicode's rules (UAX #29), like bleve's "unicode"
// tokenizer, and also keeps what those rules leave out:
//   - emoji and other symbols, one token each: a message is found by the 🎉 it holds;
//   - Korean words, typed Ideographic too (bigrams), since particles are written attached;
//   - runs of letters of scripts written without spaces and without UAX #29 word breaks
//     (Thai, Lao, Khmer, Myanmar), which come as single characters: the run is one token typed
//     Ideographic, so cjk_bigram cuts it into bigrams like Chinese and any part of a word of two
//     or more characters is found.
type wordTokenizer struct{}

func (wordTokenizer) Tokenize(input []byte) analysis.TokenStream {
	var out analysis.TokenStream
	pos := 1
	emit := func(start, end int, typ analysis.TokenType) {
		out = append(out, &analysis.Token{Term: input[start:end], Start: start, End: end, Position: pos, Type: typ})
		pos++
	}
	seg := segment.NewWordSegmenterDirect(input)
	start, runStart := 0, -1
	for seg.Segment() {
		b := seg.Bytes()
		end := start + len(b)
		typ := seg.Type()
		letters := typ == segment.None && isLetters(b)
		if runStart >= 0 && !letters {
			emit(runStart, start, analysis.Ideographic)
			runStart = -1
		}
		switch {
		case letters:
			if runStart < 0 {
				runStart = start
			}
		case typ == segment.Letter && isHangul(b):
			emit(start, end, analysis.Ideographic) // Korean words carry their particles: bigrams find 서울 in 서울에서
		case typ != segment.None:
			emit(start, end, tokenType(typ))
		case isSymbol(b):
			emit(start, end, analysis.AlphaNumeric)
		}
		start = end
	}
	if runStart >= 0 {
		emit(runStart, start, analysis.Ideographic)
	}
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

func tokenType(t int) analysis.TokenType {
	switch t {
	case segment.Ideo, segment.Kana:
		return analysis.Ideographic // bigrammed by cjk_bigram
	case segment.Number:
		return analysis.Numeric
	}
	return analysis.AlphaNumeric
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

// foldFilter makes a term match however it was typed: compatibility forms are unified (NFKC:
// full-width letters, ligatures), case is folded fully (ß→ss, ς→σ, İ→i), and marks that
// people routinely leave out are removed: accents on Latin and Greek letters (café→cafe),
// the diaeresis of Russian ё (ё→е), Arabic vowel marks and tatweel, Hebrew points, and emoji
// presentation selectors and skin tones (👍🏽→👍). Marks that make a different letter elsewhere
// are kept (Cyrillic й, Devanagari vowel signs, Japanese dakuten). A term that folds to
// nothing is dropped.
type foldFilter struct{}

func (foldFilter) Filter(input analysis.TokenStream) analysis.TokenStream {
	out := input[:0]
	var caser *cases.Caser // stateful: one per stream, made when a term needs it
	for _, t := range input {
		if ascii(t.Term) {
			t.Term = lowerASCII(t.Term)
		} else {
			if caser == nil {
				c := cases.Fold()
				caser = &c
			}
			t.Term = []byte(fold(caser, string(t.Term)))
		}
		if len(t.Term) > 0 {
			out = append(out, t)
		}
	}
	return out
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(b []byte) []byte {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			out := make([]byte, len(b))
			copy(out, b[:i])
			for j := i; j < len(b); j++ {
				c := b[j]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				out[j] = c
			}
			return out
		}
	}
	return b
}

// letters are Latin letters that no decomposition turns into plain ones.
var letters = map[rune]string{
	'æ': "ae", 'œ': "oe", 'ø': "o", 'đ': "d", 'ð': "d", 'ł': "l", 'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t",
}

// fold is the foldFilter of one non-ASCII term.
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
