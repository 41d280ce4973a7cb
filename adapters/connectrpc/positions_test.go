package connectrpc

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

func testPositions(t testing.TB) *Positions {
	t.Helper()
	p, err := NewPositions([]byte("a test instance secret of 32 b.."))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPositionTokensRoundTripPerTeam(t *testing.T) {
	p := testPositions(t)
	for _, c := range []eventlog.Cursor{{0: 0}, {0: 42}, {3: 9, 0: 17, 11: 1 << 40}} {
		tok := p.Encode("team_a", c)
		got, err := p.Decode("team_a", "after_position", tok)
		if err != nil || got.String() != c.String() {
			t.Errorf("%s: decoded %q, %v", c, got, err)
		}
		if strings.Contains(tok, c.String()) || strings.ContainsAny(tok, ",+/=") {
			t.Errorf("%s: token %q is not opaque URL-safe text", c, tok)
		}
		// Another team, and another deployment, refuse it.
		other, err := NewPositions([]byte("another instance secret, 32 b.."))
		if err != nil {
			t.Fatal(err)
		}
		for name, try := range map[string]func() error{
			"another team":       func() error { _, err := p.Decode("team_b", "after_position", tok); return err },
			"another deployment": func() error { _, err := other.Decode("team_a", "after_position", tok); return err },
		} {
			var de *domain.Error
			if err := try(); !errors.As(err, &de) || de.Kind != domain.KindInvalid || de.Field != "after_position" {
				t.Errorf("%s: a token of team_a decoded by %s: %v, want invalid after_position", c, name, err)
			}
		}
	}
	if got, err := p.Decode("team_a", "after_position", ""); err != nil || len(got) != 0 {
		t.Errorf(`"" is the start of the log: %v, %v`, got, err)
	}
	if tok := p.Encode("team_a", eventlog.Cursor{}); tok != "" {
		t.Errorf("the start of the log encodes as %q, want \"\"", tok)
	}
}

// TestPositionTokensRevealNoOffset: tokens of the same cursor differ (no equality to order
// them by), and a token's length does not depend on the offsets inside.
func TestPositionTokensRevealNoOffset(t *testing.T) {
	p := testPositions(t)
	a, b := p.EncodePosition("team_a", eventlog.Position{Offset: 7}), p.EncodePosition("team_a", eventlog.Position{Offset: 7})
	if a == b {
		t.Errorf("two tokens of one position are equal: %q", a)
	}
	small, big := p.EncodePosition("team_a", eventlog.Position{Offset: 1}), p.EncodePosition("team_a", eventlog.Position{Partition: 5, Offset: 1 << 60})
	if len(small) != len(big) {
		t.Errorf("token lengths %d and %d depend on the offset", len(small), len(big))
	}
}

func TestPositionTokensRefuseAnythingElse(t *testing.T) {
	p := testPositions(t)
	good := p.EncodePosition("team_a", eventlog.Position{Offset: 5})
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 1
	for _, bad := range []struct{ name, token, says string }{
		{"raw position", "0-42", "raw log positions"},
		{"raw cursor", "0-42, 3-7", "raw log positions"},
		{"garbage", "yesterday", "not a position token"},
		{"not base64", "!!!", "not a position token"},
		{"flipped bit", base64.RawURLEncoding.EncodeToString(flipped), "not a position token"},
		{"truncated", good[:len(good)-4], "not a position token"},
		{"huge", strings.Repeat("A", 100_000), "at most 4096 characters"},
	} {
		_, err := p.Decode("team_a", "after_position", bad.token)
		var de *domain.Error
		if !errors.As(err, &de) || de.Kind != domain.KindInvalid || de.Field != "after_position" || !strings.Contains(de.Msg, bad.says) {
			t.Errorf("%s: %v, want invalid after_position saying %q", bad.name, err, bad.says)
			continue
		}
		if len(err.Error()) > 300 || (len(bad.token) > 8 && strings.Contains(err.Error(), bad.token)) {
			t.Errorf("%s: the error echoes the input: %q", bad.name, err)
		}
	}
}

// BenchmarkPositionEncode and BenchmarkPositionDecode: the cost every answered position, every
// event listed or streamed and every consistency token pays.
func BenchmarkPositionEncode(b *testing.B) {
	p := testPositions(b)
	pos := eventlog.Position{Partition: 3, Offset: 123456789}
	for b.Loop() {
		_ = p.EncodePosition("team_0123456789abcdef", pos)
	}
}

func BenchmarkPositionDecode(b *testing.B) {
	p := testPositions(b)
	tok := p.EncodePosition("team_0123456789abcdef", eventlog.Position{Partition: 3, Offset: 123456789})
	for b.Loop() {
		if _, err := p.Decode("team_0123456789abcdef", "after_position", tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPositionDecodeCursor12: a next_position over the 12 partitions of a default Kafka
// topic.
func BenchmarkPositionDecodeCursor12(b *testing.B) {
	p := testPositions(b)
	c := eventlog.Cursor{}
	for i := range int32(12) {
		c[i] = 1_000_000 + int64(i)
	}
	tok := p.Encode("team_0123456789abcdef", c)
	for b.Loop() {
		if _, err := p.Decode("team_0123456789abcdef", "after_position", tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(tok)), "chars/token")
}

// BenchmarkPositionEncodeCursor12: an event's position in ListEvents or StreamEvents when the
// team's events are in the 12 partitions of a default Kafka topic.
func BenchmarkPositionEncodeCursor12(b *testing.B) {
	p := testPositions(b)
	c := eventlog.Cursor{}
	for i := range int32(12) {
		c[i] = 1_000_000 + int64(i)
	}
	for b.Loop() {
		_ = p.Encode("team_0123456789abcdef", c)
	}
}
