package domain

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestRequireIDAndCheckID(t *testing.T) {
	good := DeriveID(PrefixTag, "x")
	cases := []struct {
		name     string
		id       string
		required bool
		ok       bool
	}{
		{"required, well formed", good, true, true},
		{"optional, well formed", good, false, true},
		{"optional, empty", "", false, true},
		{"required, empty", "", true, false},
		{"required, other prefix", DeriveID(PrefixStatus, "x"), true, false},
		{"optional, other prefix", DeriveID(PrefixStatus, "x"), false, false},
		{"required, truncated", good[:10], true, false},
		{"optional, garbage", "VIP", false, false},
		{"required, only the prefix", PrefixTag, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.required {
				err = RequireID("tag_id", c.id, PrefixTag)
			} else {
				err = CheckID("tag_id", c.id, PrefixTag)
			}
			if c.ok {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			assertInvalid(t, err, "tag_id")
		})
	}
}

func TestName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"VIP", "VIP", true},
		{"  Hot lead \n", "Hot lead", true},
		{strings.Repeat("é", 10), strings.Repeat("é", 10), true}, // 20 bytes, 10 characters
		{strings.Repeat("a", 10), strings.Repeat("a", 10), true},
		{"", "", false},
		{"   \t", "", false},
		{strings.Repeat("a", 11), "", false},
		{"\xff\xfe", "", false},
	}
	for _, c := range cases {
		got, err := Name("name", c.in, 10)
		if c.ok {
			if err != nil || got != c.want {
				t.Errorf("Name(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			continue
		}
		assertInvalid(t, err, "name")
	}
}

func TestMaxLen(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"abc", true},
		{"日本語", true}, // 9 bytes, 3 characters
		{"abcd", false},
		{"日本語x", false},
		{"a\xffb", false},
	}
	for _, c := range cases {
		err := MaxLen("display_name", c.in, 3)
		if c.ok {
			if err != nil {
				t.Errorf("MaxLen(%q, 3) = %v, want nil", c.in, err)
			}
			continue
		}
		assertInvalid(t, err, "display_name")
	}
}

func TestColor(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"#ff8800", "#ff8800", true},
		{"#FF88AA", "#ff88aa", true},
		{"ff8800", "", false},
		{"#ff880", "", false},
		{"#ff88000", "", false},
		{"#gg8800", "", false},
		{"red", "", false},
		{" #ff8800", "", false},
		{"#ff8800\n", "", false},
	}
	for _, c := range cases {
		got, err := Color("color", c.in)
		if c.ok {
			if err != nil || got != c.want {
				t.Errorf("Color(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			continue
		}
		assertInvalid(t, err, "color")
	}
}

func TestEmail(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"ana@example.com", "ana@example.com", true},
		{"Ana.Lopez+inbox@Example.COM", "ana.lopez+inbox@example.com", true},
		{"  ana@example.com  ", "ana@example.com", true},
		{"owner@team_abc.invalid", "owner@team_abc.invalid", true},
		{"", "", false},
		{"   ", "", false},
		{"ana", "", false},
		{"ana@", "", false},
		{"@example.com", "", false},
		{"Ana <ana@example.com>", "", false},
		{"ana@example.com, bo@example.com", "", false},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "", false}, // 255 chars
	}
	for _, c := range cases {
		got, err := Email("email", c.in)
		if c.ok {
			if err != nil || got != c.want {
				t.Errorf("Email(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			continue
		}
		assertInvalid(t, err, "email")
	}
}

func TestNewProspectContext(t *testing.T) {
	fields := func(n int) map[string]string {
		m := make(map[string]string, n)
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = "v"
		}
		return m
	}
	valid := []struct {
		name      string
		notes     string
		valuation float64
		fields    map[string]string
	}{
		{"empty", "", 0, nil},
		{"all set", "met at the fair", 1250.5, map[string]string{"company": "Acme", "city": "Lyon"}},
		{"notes at the limit", strings.Repeat("é", MaxNotes), 0, nil},
		{"fields at the limit", "", 0, fields(MaxCustomFields)},
		{"key and value at the limit", "", 0, map[string]string{strings.Repeat("k", MaxCustomFieldKey): strings.Repeat("v", MaxCustomFieldValue)}},
		{"empty value", "", 0, map[string]string{"company": ""}},
		{"huge valuation", "", math.MaxFloat64, nil},
	}
	for _, c := range valid {
		t.Run(c.name, func(t *testing.T) {
			pc, err := NewProspectContext(c.notes, c.valuation, c.fields)
			if err != nil {
				t.Fatalf("NewProspectContext: %v", err)
			}
			if pc.Notes != c.notes || pc.Valuation != c.valuation || len(pc.CustomFields) != len(c.fields) {
				t.Errorf("got %+v", pc)
			}
			for k, v := range c.fields {
				if pc.CustomFields[k] != v {
					t.Errorf("custom field %q = %q, want %q", k, pc.CustomFields[k], v)
				}
			}
			if pc.CustomFields == nil {
				t.Error("CustomFields is nil; want an empty map")
			}
		})
	}

	invalid := []struct {
		name      string
		notes     string
		valuation float64
		fields    map[string]string
		field     string
	}{
		{"notes too long", strings.Repeat("a", MaxNotes+1), 0, nil, "notes"},
		{"notes not UTF-8", "\xff", 0, nil, "notes"},
		{"NaN valuation", "", math.NaN(), nil, "valuation"},
		{"+Inf valuation", "", math.Inf(1), nil, "valuation"},
		{"-Inf valuation", "", math.Inf(-1), nil, "valuation"},
		{"negative valuation", "", -0.01, nil, "valuation"},
		{"too many fields", "", 0, fields(MaxCustomFields + 1), "custom_fields"},
		{"empty key", "", 0, map[string]string{"": "v"}, "custom_fields"},
		{"blank key", "", 0, map[string]string{"  ": "v"}, "custom_fields"},
		{"long key", "", 0, map[string]string{strings.Repeat("k", MaxCustomFieldKey+1): "v"}, "custom_fields"},
		{"long value", "", 0, map[string]string{"k": strings.Repeat("v", MaxCustomFieldValue+1)}, "custom_fields"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewProspectContext(c.notes, c.valuation, c.fields)
			assertInvalid(t, err, c.field)
		})
	}
}

func TestNewProspectContextCopiesFields(t *testing.T) {
	in := map[string]string{"company": "Acme"}
	pc, err := NewProspectContext("", 0, in)
	if err != nil {
		t.Fatal(err)
	}
	in["company"] = "changed later"
	if pc.CustomFields["company"] != "Acme" {
		t.Error("the context shares the caller's map: a later change leaks into it")
	}
}
