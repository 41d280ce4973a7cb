package domain

import (
	"regexp"
	"strings"
	"testing"
)

var idBody = regexp.MustCompile(`^[a-z2-7]{26}$`)

func TestDeriveIDIsDeterministicAndWellFormed(t *testing.T) {
	cases := []struct {
		prefix string
		parts  []string
	}{
		{PrefixThread, []string{"team_1", "api", "acc_1", "conv-1"}},
		{PrefixMessage, []string{"", ""}},
		{PrefixProspect, nil},
		{PrefixEvent, []string{"ünïcødé", "\x00", strings.Repeat("x", 10000)}},
	}
	for _, c := range cases {
		a := DeriveID(c.prefix, c.parts...)
		b := DeriveID(c.prefix, c.parts...)
		if a != b {
			t.Errorf("DeriveID(%q, %q) gave %q then %q", c.prefix, c.parts, a, b)
		}
		if !strings.HasPrefix(a, c.prefix) {
			t.Errorf("DeriveID(%q, …) = %q lacks its prefix", c.prefix, a)
		}
		if body := strings.TrimPrefix(a, c.prefix); !idBody.MatchString(body) {
			t.Errorf("DeriveID(%q, …) = %q: body %q is not 26 chars of [a-z2-7]", c.prefix, a, body)
		}
		if !HasPrefix(a, c.prefix) {
			t.Errorf("HasPrefix(%q, %q) = false for a derived id", a, c.prefix)
		}
	}
}

func TestDeriveIDDiffersWhenAnyPartDiffers(t *testing.T) {
	cases := []struct {
		name string
		a, b []string
	}{
		{"split point moves", []string{"ab", "c"}, []string{"a", "bc"}},
		{"empty part moves", []string{"", "ab"}, []string{"ab", ""}},
		{"extra empty part", []string{"a"}, []string{"a", ""}},
		{"no parts vs one empty", nil, []string{""}},
		{"first part", []string{"team_1", "x"}, []string{"team_2", "x"}},
		{"last part", []string{"team_1", "x"}, []string{"team_1", "y"}},
		{"order", []string{"a", "b"}, []string{"b", "a"}},
		{"case", []string{"A"}, []string{"a"}},
		{"separator in a part", []string{"a\x00b"}, []string{"a", "b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if a, b := DeriveID(PrefixThread, c.a...), DeriveID(PrefixThread, c.b...); a == b {
				t.Errorf("DeriveID(%q) == DeriveID(%q) == %q", c.a, c.b, a)
			}
		})
	}
	if DeriveID(PrefixThread, "x") == DeriveID(PrefixMessage, "x") {
		t.Error("different prefixes gave the same id")
	}
}

func TestNamedDerivations(t *testing.T) {
	// Every field of the derivation matters: the same platform message on another link, team or
	// platform is another message.
	base := MessageID("team_a", PlatformAPI, "acc_1", "m1")
	for name, other := range map[string]string{
		"team":     MessageID("team_b", PlatformAPI, "acc_1", "m1"),
		"platform": MessageID("team_a", PlatformTelegram, "acc_1", "m1"),
		"link":     MessageID("team_a", PlatformAPI, "acc_2", "m1"),
		"message":  MessageID("team_a", PlatformAPI, "acc_1", "m2"),
	} {
		if other == base {
			t.Errorf("MessageID ignores the %s", name)
		}
	}
	if got := MessageID("team_a", PlatformAPI, "acc_1", "m1"); got != base {
		t.Errorf("MessageID is not deterministic: %q then %q", base, got)
	}
	for _, c := range []struct{ id, prefix string }{
		{base, PrefixMessage},
		{ThreadID("team_a", PlatformAPI, "acc_1", "c1"), PrefixThread},
		{ProspectID("team_a", PlatformAPI, "u1"), PrefixProspect},
		{AccountLinkID("team_a", PlatformAPI, "p1"), PrefixAccount},
	} {
		if !HasPrefix(c.id, c.prefix) {
			t.Errorf("%q is not a well formed %q id", c.id, c.prefix)
		}
	}
	// A prospect is shared by the team's links: its id has no account link in it.
	if ProspectID("team_a", PlatformAPI, "u1") == ProspectID("team_a", PlatformX, "u1") {
		t.Error("ProspectID ignores the platform")
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewID(PrefixTag)
		if !HasPrefix(id, PrefixTag) {
			t.Fatalf("NewID(%q) = %q is not well formed", PrefixTag, id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestHasPrefix(t *testing.T) {
	good := DeriveID(PrefixThread, "x")
	body := strings.TrimPrefix(good, PrefixThread)
	cases := []struct {
		id, prefix string
		want       bool
	}{
		{good, PrefixThread, true},
		{PrefixThread + strings.Repeat("a", 26), PrefixThread, true},
		{PrefixThread + strings.Repeat("7", 26), PrefixThread, true},
		{"", PrefixThread, false},
		{PrefixThread, PrefixThread, false},
		{good, PrefixMessage, false},
		{PrefixMessage + body, PrefixThread, false},
		{good[:len(good)-1], PrefixThread, false},
		{good + "a", PrefixThread, false},
		{PrefixThread + strings.ToUpper(body), PrefixThread, false},
		{PrefixThread + strings.Repeat("a", 25) + "1", PrefixThread, false},
		{PrefixThread + strings.Repeat("a", 25) + "8", PrefixThread, false},
		{PrefixThread + strings.Repeat("a", 25) + "-", PrefixThread, false},
		{PrefixThread + strings.Repeat("a", 24) + "é", PrefixThread, false}, // 26 bytes, 25 runes
		{"THR_" + body, PrefixThread, false},
		{" " + good, PrefixThread, false},
	}
	for _, c := range cases {
		if got := HasPrefix(c.id, c.prefix); got != c.want {
			t.Errorf("HasPrefix(%q, %q) = %v, want %v", c.id, c.prefix, got, c.want)
		}
	}
}
