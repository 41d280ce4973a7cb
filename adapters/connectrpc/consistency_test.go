package connectrpc

import (
	"strings"
	"testing"
)

func TestParseConsistencyToken(t *testing.T) {
	for _, c := range []struct {
		values []string
		want   string // the cursor, or the error's text
	}{
		{nil, ""},
		{[]string{"0-17"}, "0-17"},
		// Positions of several writes: per partition the latest counts, however they arrive.
		{[]string{"3-9, 0-17,3-4"}, "0-17,3-9"},
		{[]string{"1-5", "1-2,2-8"}, "1-5,2-8"},
		{[]string{"yesterday"}, `Switchboard-Consistency-Token: "yesterday" is not a position`},
		{[]string{"0-5,x"}, `Switchboard-Consistency-Token: "x" is not a position`},
		{[]string{" , "}, "Switchboard-Consistency-Token: no position given"},
	} {
		cur, err := parseConsistencyToken(c.values)
		got := cur.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, c.want) || (err == nil && got != c.want) {
			t.Errorf("%q: got %q, want %q", c.values, got, c.want)
		}
	}
}
