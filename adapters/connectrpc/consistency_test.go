package connectrpc

import (
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/eventlog"
)

func TestParseConsistencyToken(t *testing.T) {
	p := testPositions(t)
	tok := func(c string) string {
		cur, err := eventlog.ParseCursor(c)
		if err != nil {
			t.Fatal(err)
		}
		return p.Encode("team_a", cur)
	}
	for _, c := range []struct {
		values []string
		want   string // the cursor, or the error's text
	}{
		{nil, ""},
		{[]string{tok("0-17")}, "0-17"},
		// Positions of several writes: per partition the latest counts, however they arrive.
		{[]string{tok("3-9") + ", " + tok("0-17") + "," + tok("3-4")}, "0-17,3-9"},
		{[]string{tok("1-5"), tok("1-2,2-8")}, "1-5,2-8"},
		{[]string{"yesterday"}, "Switchboard-Consistency-Token: is not a position token of this team"},
		{[]string{tok("0-5") + ",x"}, "Switchboard-Consistency-Token: is not a position token of this team"},
		{[]string{"0-5"}, "Switchboard-Consistency-Token: raw log positions like 0-42 are no longer accepted"},
		{[]string{p.Encode("team_b", eventlog.Cursor{0: 5})}, "Switchboard-Consistency-Token: is not a position token of this team"},
		{[]string{" , "}, "Switchboard-Consistency-Token: no position given"},
		{[]string{strings.Repeat(tok("0-1")+",", 101)}, "Switchboard-Consistency-Token: at most 100 positions"},
	} {
		cur, err := parseConsistencyToken(p, "team_a", c.values)
		got := cur.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, c.want) || (err == nil && got != c.want) {
			t.Errorf("%.60q: got %q, want %q", c.values, got, c.want)
		}
	}
}
