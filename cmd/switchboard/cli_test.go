package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// help, --help and -h list every command with its one-line summary, on stdout, and succeed.
func TestHelpListsTheCommands(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		var stdout, stderr bytes.Buffer
		if err := run(args, env(nil), &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, want := range []string{"serve ", "migrate ", "search reindex ", "projections rebuild ", "events export ", "version ", "help "} {
			if !strings.Contains(stdout.String(), "\n  "+want) {
				t.Errorf("%v: no line for %q in:\n%s", args, want, stdout.String())
			}
		}
		if stderr.Len() > 0 {
			t.Errorf("%v wrote to stderr: %s", args, stderr.String())
		}
	}
}

// Every command answers --help with what it does and its own flags, and does nothing else.
func TestEveryCommandHasHelp(t *testing.T) {
	cases := []struct {
		args  []string
		flags []string
	}{
		{[]string{"serve", "--help"}, []string{"-data-dir", "-listen", "-postgres-url", "SWITCHBOARD_DATA_DIR"}},
		{[]string{"--listen", "x", "--help"}, []string{"-data-dir"}}, // serve is the default
		{[]string{"help", "serve"}, []string{"-data-dir"}},
		{[]string{"migrate", "--help"}, []string{"-postgres-url"}},
		{[]string{"search", "reindex", "--help"}, []string{"-elasticsearch-url"}},
		{[]string{"search", "--help"}, []string{"search reindex"}},
		{[]string{"projections", "rebuild", "--help"}, []string{"-api-key", "SWITCHBOARD_API_KEY"}},
		{[]string{"projections", "--help"}, []string{"projections rebuild"}},
		{[]string{"events", "export", "--help"}, []string{"-after-position", "-format", "-data-dir", "SWITCHBOARD_API_KEY"}},
		{[]string{"events", "--help"}, []string{"events export"}},
		{[]string{"version", "--help"}, []string{"usage: switchboard version"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		// A data dir that serve would fill: --help must leave it empty.
		if err := run(append(c.args, "--data-dir="+dir), env(nil), &stdout, &stderr); err != nil && !strings.Contains(err.Error(), "flag provided but not defined") {
			t.Fatalf("%v: %v", c.args, err)
		}
		stdout.Reset()
		stderr.Reset()
		if err := run(c.args, env(nil), &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		out := stdout.String()
		if !strings.HasPrefix(out, "usage: switchboard ") {
			t.Errorf("%v: help does not start with its usage line:\n%s", c.args, out)
		}
		for _, f := range c.flags {
			if !strings.Contains(out, f) {
				t.Errorf("%v: help does not mention %s:\n%s", c.args, f, out)
			}
		}
		if entries, _ := filepath.Glob(filepath.Join(dir, "*")); len(entries) > 0 {
			t.Errorf("%v --data-dir: help created %v", c.args, entries)
		}
	}
}

// version prints the version, the commit line and the Go version from the binary's build
// information; a version given at link time wins.
func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || lines[0] != "switchboard v9.8.7-test" || !strings.HasPrefix(lines[1], "commit ") ||
		lines[2] != runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("switchboard version printed:\n%s\nwant the version, a commit line and %s %s/%s", out, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
}
