package selfcontained

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestACloneStandsAlone copies the repository's files (what git tracks, plus new files not
// ignored) into an empty temporary folder, with no ../shared beside it, and runs the platform
// tests and the README walkthrough there: every test that needs a file finds it inside the
// repository, and the shared samples suite says SKIP.
func TestACloneStandsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the repository and compiles its tests")
	}
	root := repoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("SKIP: no git to list the repository's files: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "switchboard")
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if err := copyFile(filepath.Join(root, rel), filepath.Join(dst, rel)); err != nil {
			if os.IsNotExist(err) { // deleted in the work tree, not yet in git
				continue
			}
			t.Fatal(err)
		}
	}

	cmd := exec.Command("go", "test", "-count=1", "-v", "-run", "TestRepoPayloads|TestFixtures|TestREADMEWalkthrough",
		"./adapters/platforms/...", "./server/")
	cmd.Dir = dst
	for _, kv := range os.Environ() { // as on a fresh clone: no CI, no pointer to the samples
		if !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, "SWITCHBOARD_FIXTURES_DIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("go test in a copy of the repository alone: %v\n%s", err, log.String())
	}
	text := log.String()
	passed := regexp.MustCompile(`(?m)^--- PASS: TestRepoPayloads `).FindAllString(text, -1)
	if len(passed) != 7 {
		t.Errorf("TestRepoPayloads passed in %d packages, want 7 (one per platform)\n%s", len(passed), text)
	}
	if !regexp.MustCompile(`(?m)^--- PASS: TestREADMEWalkthrough `).MatchString(text) {
		t.Errorf("the README walkthrough did not pass in the copy\n%s", text)
	}
	if !strings.Contains(text, "SKIP: no shared platform samples") {
		t.Errorf("without ../shared the shared samples suite did not say SKIP\n%s", text)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatal("no go.mod above the test")
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil || st.IsDir() {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
