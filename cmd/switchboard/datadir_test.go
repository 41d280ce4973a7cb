package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runBinary runs the real binary to its end (at most 20s) and returns its stderr and exit error.
func runBinary(t *testing.T, args ...string) (stderr string, took time.Duration, err error) {
	t.Helper()
	bin, berr := buildOnce()
	if berr != nil {
		t.Fatal(berr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_BOOTSTRAP_KEY="+testKey)
	var out strings.Builder
	cmd.Stderr = &out
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("switchboard %s still running after 20s; stderr:\n%s", strings.Join(args, " "), out.String())
	}
	return out.String(), time.Since(start), err
}

// A second serve on a data folder in use fails at once, naming the folder and the pid that
// holds it, whether it asks for another port or the same one.
func TestSecondProcessOnTheSameDataFolderFailsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	dir := filepath.Join(t.TempDir(), "data")
	first := startProcess(t, dir)
	want := fmt.Sprintf("data folder %s is in use by pid %d", dir, first.cmd.Process.Pid)
	for _, listen := range []string{"127.0.0.1:0", first.addr} {
		stderr, took, err := runBinary(t, "serve", "--data-dir", dir, "--listen", listen)
		if err == nil {
			t.Fatalf("--listen %s: a second process on %s started; stderr:\n%s", listen, dir, stderr)
		}
		if !strings.Contains(stderr, want) {
			t.Errorf("--listen %s: stderr %q, want it to say %q", listen, stderr, want)
		}
		if took > 5*time.Second {
			t.Errorf("--listen %s: the second process took %s to fail, want at once", listen, took)
		}
	}
	// The first one still serves.
	if c, err := net.Dial("tcp", first.addr); err != nil {
		t.Errorf("the first process stopped serving: %v", err)
	} else {
		_ = c.Close()
	}
}

// A serve whose port is taken fails naming --listen and leaves the disk as it found it: no data
// folder, no key, no team.
func TestBusyPortChangesNothingOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	root := t.TempDir()
	for _, dir := range []string{filepath.Join(root, "new"), root} { // absent, and present but empty
		stderr, _, err := runBinary(t, "serve", "--data-dir", dir, "--listen", busy.Addr().String())
		if err == nil || !strings.Contains(stderr, "--listen") || !strings.Contains(stderr, "address already in use") {
			t.Fatalf("serve on a busy port: %v; stderr:\n%s", err, stderr)
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a serve that could not listen created %s", filepath.Join(root, e.Name()))
	}
}
