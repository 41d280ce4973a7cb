// Package polltest holds the test helpers of the polling adapters: where the shared platform
// samples are, and the check that a fixture table covers every one of them.
package polltest

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FixturesEnv overrides where the shared fixtures are (the folder holding one folder per
// platform).
const FixturesEnv = platformtest.FixturesEnv

// FixtureDir returns the folder of a platform's samples: $SWITCHBOARD_FIXTURES_DIR/<platform>,
// else ../shared/fixtures/platforms/<platform> beside the repository. Without them the test is
// skipped loudly, and fails under CI=true.
func FixtureDir(t testing.TB, platform string) string {
	t.Helper()
	return platformtest.FixtureDir(t, platform)
}

// Files lists every file of a platform's samples (subfolders included) as slash paths
// relative to its folder; SOURCES.md documents them and is not one.
func Files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); !strings.EqualFold(rel, "SOURCES.md") {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// Covered fails the test for every sample without an entry in the table, and every entry
// naming no sample: a new sample must say what it produces.
func Covered(t *testing.T, dir string, table []string) {
	t.Helper()
	files := Files(t, dir)
	for _, f := range files {
		if !slices.Contains(table, f) {
			t.Errorf("fixture %s has no entry in the table: add one stating what it must produce", f)
		}
	}
	for _, name := range table {
		if !slices.Contains(files, name) {
			t.Errorf("table entry %s names no fixture", name)
		}
	}
}
