package platformtest

// Fixture helpers of the Meta adapters (Messenger, Instagram, WhatsApp). The shared samples
// live outside the repository, in ../shared/fixtures/platforms (or $SWITCHBOARD_FIXTURES_DIR),
// and are read unmodified: .json as is, .jsonc (Meta's published, not-quite-JSON examples) after
// filling placeholders and stripping comments and trailing commas here, in memory.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

// FixturesEnv overrides where the shared fixtures are; "none" says knowingly that there are
// none here (the shared suite then skips, even under CI=true).
const FixturesEnv = "SWITCHBOARD_FIXTURES_DIR"

// FixtureDir returns the folder of a platform's shared samples (../shared/fixtures/platforms
// beside the repository, or $SWITCHBOARD_FIXTURES_DIR): the extra suite, beyond the payloads in
// the repository's own testdata/platforms (RepoDir). Without the shared folder the test is
// skipped with a SKIP line, and fails under CI=true unless SWITCHBOARD_FIXTURES_DIR=none.
func FixtureDir(t testing.TB, platform string) string {
	t.Helper()
	switch dir := os.Getenv(FixturesEnv); dir {
	case "none":
		t.Skip("SKIP: " + FixturesEnv + "=none: the shared platform samples suite does not run")
	case "":
	default:
		if st, err := os.Stat(filepath.Join(dir, platform)); err != nil || !st.IsDir() {
			t.Fatalf("%s=%s has no %s folder", FixturesEnv, dir, platform)
		}
		return filepath.Join(dir, platform)
	}
	if dir := findShared(platform); dir != "" {
		return dir
	}
	msg := "SKIP: no shared platform samples (../shared/fixtures/platforms/" + platform + "): the extra suite does not run; " +
		"set " + FixturesEnv + " to their folder"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: set " + FixturesEnv + "=none to run knowingly without them)")
	}
	t.Skip(msg)
	return ""
}

// SharedPresent reports whether the shared samples of platform are there, without skipping:
// fuzz tests seed from them when they are, and from the repository's own payloads always.
func SharedPresent(platform string) bool {
	switch dir := os.Getenv(FixturesEnv); dir {
	case "none":
		return false
	case "":
		return findShared(platform) != ""
	default:
		return true // FixtureDir fails if it is not there
	}
}

// findShared looks for shared/fixtures/platforms/<platform> (or fixtures/platforms/<platform>)
// from the working directory up.
func findShared(platform string) string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared", "fixtures", "platforms"), filepath.Join(d, "fixtures", "platforms")} {
			if st, err := os.Stat(filepath.Join(c, platform)); err == nil && st.IsDir() {
				return filepath.Join(c, platform)
			}
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// MetaFixtureFiles lists every sample of a platform (subfolders included), as slash paths
// relative to its folder; the folder's own documentation (*.md) is not a sample.
func MetaFixtureFiles(t testing.TB, platform string) []string {
	t.Helper()
	dir := FixtureDir(t, platform)
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(d.Name(), ".md") {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// MetaFixture reads a sample. A .json file is returned byte for byte (placeholders are then
// refused: those files are used as published). A .jsonc file gets its placeholders replaced
// (literal text, longest first), then loses its comments and trailing commas; the result is
// what a test feeds, whether or not it is valid JSON (some published examples are not).
func MetaFixture(t testing.TB, platform, name string, placeholders map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(FixtureDir(t, platform), filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(name, ".jsonc") {
		if len(placeholders) > 0 {
			t.Fatalf("%s: .json samples are used as is; placeholders are for .jsonc", name)
		}
		return b
	}
	keys := make([]string, 0, len(placeholders))
	for k := range placeholders {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) > len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
	})
	for _, k := range keys {
		if !bytes.Contains(b, []byte(k)) {
			t.Fatalf("%s: placeholder %q does not occur", name, k)
		}
		b = bytes.ReplaceAll(b, []byte(k), []byte(placeholders[k]))
	}
	return MetaStripJSONC(b)
}

// MetaStripJSONC removes // and /* */ comments and trailing commas (before } or ]) outside
// strings; string contents, escapes included, are left alone.
func MetaStripJSONC(b []byte) []byte {
	// Pass 1: comments.
	var out []byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			j := metaStringEnd(b, i)
			out = append(out, b[i:j]...)
			i = j - 1
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			if i < len(b) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := bytes.Index(b[i+2:], []byte("*/"))
			if end < 0 {
				i = len(b)
			} else {
				i += 2 + end + 1
			}
			out = append(out, ' ')
		default:
			out = append(out, c)
		}
	}
	// Pass 2: trailing commas.
	b, out = out, nil
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			j := metaStringEnd(b, i)
			out = append(out, b[i:j]...)
			i = j - 1
			continue
		}
		if c == ',' {
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// metaStringEnd returns the index just past the string literal starting at b[i] == '"' (or len(b)
// for an unterminated one).
func metaStringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// MetaWrapEntry makes a whole webhook body of one entry[] element, keeping its bytes.
func MetaWrapEntry(object string, entry []byte) []byte {
	return []byte(`{"object":` + metaQuote(object) + `,"entry":[` + string(entry) + `]}`)
}

// MetaWrapMessaging makes a whole webhook body of one entry[].messaging[] element, in an
// entry of entryID, keeping the element's bytes.
func MetaWrapMessaging(object, entryID string, item []byte) []byte {
	return MetaWrapEntry(object, []byte(`{"id":`+metaQuote(entryID)+`,"time":0,"messaging":[`+string(item)+`]}`))
}

// MetaBody returns a sample as a whole POST body: fragments (.entry.json,
// .messaging_item.json(c)) are wrapped with MetaWrapEntry / MetaWrapMessaging (entry id
// entryID), whole bodies are returned as MetaFixture reads them.
func MetaBody(t testing.TB, platform, name, object, entryID string, placeholders map[string]string) []byte {
	t.Helper()
	b := MetaFixture(t, platform, name, placeholders)
	switch {
	case strings.Contains(name, ".messaging_item."):
		return MetaWrapMessaging(object, entryID, b)
	case strings.Contains(name, ".entry."):
		return MetaWrapEntry(object, b)
	}
	return b
}

func metaQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// MetaCase states what one sample must produce when an account link with platform_id Link
// receives it.
type MetaCase struct {
	File string
	// Link is the link's platform_id (Page id, Instagram account id, phone_number_id).
	Link string
	// EntryID is the entry id a .messaging_item fragment is wrapped in (default: Link).
	EntryID      string
	Placeholders map[string]string
	// Want are the items, Raw aside: each Raw must be one JSON element found verbatim in the
	// body, and a fragment's single item must carry exactly the fragment.
	Want []domain.PlatformItem
	// WantErr: the body is refused (it is not a webhook body of the platform).
	WantErr bool
	// NotWebhook says what a sample is when it is no webhook input (an API response, a send
	// request); Check asserts it parses as that, and the webhook parser must refuse it.
	NotWebhook string
	Check      func(t *testing.T, b []byte)
}

// MetaParse is an adapter's Parse for a link of the given platform_id.
type MetaParse func(body []byte, platformID string) ([]domain.PlatformItem, error)

// MetaRunFixtures runs the cases and fails for every sample of the platform's folder that no
// case covers (and for every case whose sample is missing). Each body is also parsed cut short
// at many lengths: the parser must never panic, whatever arrives.
func MetaRunFixtures(t *testing.T, platform, object string, parse MetaParse, cases []MetaCase) {
	t.Helper()
	files := MetaFixtureFiles(t, platform)
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.File] = true
	}
	for _, f := range files {
		if !covered[f] {
			t.Errorf("fixture %s/%s has no table entry", platform, f)
		}
		delete(covered, f)
	}
	for f := range covered {
		t.Errorf("table entry %s: no such fixture in %s", f, platform)
	}
	for _, c := range cases {
		t.Run(c.File+"@"+c.Link, func(t *testing.T) {
			entryID := c.EntryID
			if entryID == "" {
				entryID = c.Link
			}
			sample := MetaFixture(t, platform, c.File, c.Placeholders)
			body := MetaBody(t, platform, c.File, object, entryID, c.Placeholders)
			if c.NotWebhook != "" {
				if c.Check == nil {
					t.Fatalf("%s is %s: Check must assert it", c.File, c.NotWebhook)
				}
				c.Check(t, sample)
				c.WantErr = true
			}
			metaNoPanic(t, parse, body, c.Link)
			items, err := parse(body, c.Link)
			if c.WantErr {
				if err == nil {
					t.Fatalf("parsed, want an error; items: %s", MetaDescribe(items))
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got, want := MetaDescribe(items), MetaDescribe(c.Want); got != want || !reflect.DeepEqual(MetaWithoutRaw(items), MetaWithoutRaw(c.Want)) {
				t.Fatalf("items:\n got %s\nwant %s", got, want)
			}
			fragment := strings.Contains(c.File, ".messaging_item.") || strings.Contains(c.File, ".entry.")
			for i, it := range items {
				raw := MetaRaw(it)
				if raw == nil {
					continue
				}
				if !json.Valid(raw) || !bytes.Contains(body, raw) {
					t.Errorf("item %d: Raw is not a JSON element of the body: %s", i, raw)
				}
				if fragment && len(items) == 1 && strings.Contains(c.File, ".messaging_item.") && !bytes.Equal(raw, bytes.TrimSpace(sample)) {
					t.Errorf("item %d: Raw is not the messaging element itself: %s", i, raw)
				}
			}
		})
	}
}

// metaNoPanic parses prefixes of body (and the body with its braces unbalanced): odd input
// must give an error or items, never a panic, and every Raw must stay valid JSON.
func metaNoPanic(t *testing.T, parse MetaParse, body []byte, platformID string) {
	t.Helper()
	step := len(body)/97 + 1
	try := func(b []byte) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("parse panicked on %q: %v", b, r)
			}
		}()
		items, err := parse(b, platformID)
		if err != nil {
			return
		}
		for _, it := range items {
			if raw := MetaRaw(it); raw != nil && !json.Valid(raw) {
				t.Fatalf("parse of %q: invalid Raw %q", b, raw)
			}
		}
	}
	for n := 0; n < len(body); n += step {
		try(body[:n])
	}
	try(append(append([]byte{}, body...), '}'))
	try(bytes.ReplaceAll(body, []byte(`"`), []byte(`'`)))
}

// MetaRaw returns an item's Raw (nil for the kinds that have none).
func MetaRaw(it domain.PlatformItem) []byte {
	switch it := it.(type) {
	case domain.PlatformMessage:
		return it.Raw
	case domain.PlatformEdit:
		return it.Raw
	case domain.PlatformDelete:
		return it.Raw
	case domain.PlatformOther:
		return it.Raw
	}
	return nil
}

// MetaWithoutRaw returns the items with Raw cleared, to compare the rest.
func MetaWithoutRaw(items []domain.PlatformItem) []domain.PlatformItem {
	out := make([]domain.PlatformItem, len(items))
	for i, it := range items {
		switch v := it.(type) {
		case domain.PlatformMessage:
			v.Raw = nil
			if len(v.Attachments) == 0 {
				v.Attachments = nil
			}
			it = v
		case domain.PlatformEdit:
			v.Raw = nil
			it = v
		case domain.PlatformDelete:
			v.Raw = nil
			it = v
		case domain.PlatformOther:
			v.Raw = nil
			it = v
		}
		out[i] = it
	}
	return out
}

// MetaDescribe prints items for a failure message, one per line, without Raw.
func MetaDescribe(items []domain.PlatformItem) string {
	var b strings.Builder
	for _, it := range MetaWithoutRaw(items) {
		fmt.Fprintf(&b, "\n  %T%+v", it, it)
	}
	return b.String()
}
