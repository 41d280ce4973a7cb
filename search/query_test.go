package search

import (
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

func TestParseQuery(t *testing.T) {
	cases := []struct {
		in   string
		want Terms
	}{
		{"", Terms{}},
		{"  blue   shoes ", Terms{Must: []Clause{{Word, "blue"}, {Word, "shoes"}}}},
		{`"blue shoes" size`, Terms{Must: []Clause{{Phrase, "blue shoes"}, {Word, "size"}}}},
		{`deliv* -cancel -"not now"`, Terms{Must: []Clause{{Prefix, "deliv"}}, MustNot: []Clause{{Word, "cancel"}, {Phrase, "not now"}}}},
		{`"one"`, Terms{Must: []Clause{{Word, "one"}}}},
		{"a - b", Terms{Must: []Clause{{Word, "a"}, {Word, "-"}, {Word, "b"}}}},
		{"привет 東京 😀", Terms{Must: []Clause{{Word, "привет"}, {Word, "東京"}, {Word, "😀"}}}},
		{`""`, Terms{}},
	}
	for _, c := range cases {
		got, err := ParseQuery(c.in)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseQuery(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{`"open`, "*", strings.Repeat("x", MaxQueryLength+1), strings.Repeat("w ", MaxClauses+1), "\xff"} {
		_, err := ParseQuery(bad)
		if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "query") {
			t.Errorf("ParseQuery(%.20q): %v, want an invalid query error", bad, err)
		}
	}
}
