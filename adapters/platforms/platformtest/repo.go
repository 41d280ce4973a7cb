package platformtest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

// RepoDir returns testdata/platforms/<platform> of this repository: the payloads every
// platform's tests run on, with or without the shared samples.
func RepoDir(t testing.TB, platform string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "testdata", "platforms", platform)
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// RepoPayload reads one payload of testdata/platforms/<platform>.
func RepoPayload(t testing.TB, platform, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoDir(t, platform), filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RunRepoPayloads runs one check per payload of testdata/platforms/<platform>, and fails for a
// payload without a check (a new payload must say what it produces) or a check without its
// payload.
func RunRepoPayloads(t *testing.T, platform string, checks map[string]func(t *testing.T, body []byte)) {
	t.Helper()
	entries, err := os.ReadDir(RepoDir(t, platform))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, e.Name())
			if checks[e.Name()] == nil {
				t.Errorf("testdata/platforms/%s/%s has no check", platform, e.Name())
			}
		}
	}
	for name, check := range checks {
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(files, name) {
				t.Fatalf("no testdata/platforms/%s/%s", platform, name)
			}
			check(t, RepoPayload(t, platform, name))
		})
	}
}

// MetaCheck returns a RunRepoPayloads check for a Meta webhook body: a link of platformID
// receiving it gets exactly want (Raw aside, which must be a JSON element of the body), and a
// link of another account gets it recorded as foreign, never attributed.
func MetaCheck(parse MetaParse, platformID string, want ...domain.PlatformItem) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		items, err := parse(body, platformID)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if got, w := MetaDescribe(items), MetaDescribe(want); got != w || !reflect.DeepEqual(MetaWithoutRaw(items), MetaWithoutRaw(want)) {
			t.Fatalf("items:\n got %s\nwant %s", got, w)
		}
		for i, it := range items {
			if raw := MetaRaw(it); raw == nil || !json.Valid(raw) || !bytes.Contains(body, raw) {
				t.Errorf("item %d: Raw is not a JSON element of the body: %s", i, raw)
			}
		}
		other, err := parse(body, "999999999999999")
		if err != nil {
			t.Fatalf("parse for another account: %v", err)
		}
		for _, it := range other {
			if o, ok := it.(domain.PlatformOther); !ok || o.Kind != "foreign_account" {
				t.Errorf("a link of another account got %s, want it kept raw as foreign_account", MetaDescribe([]domain.PlatformItem{it}))
			}
		}
		metaNoPanic(t, parse, body, platformID)
	}
}
