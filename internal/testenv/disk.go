package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// SmallDisk mounts a tmpfs of sizeMiB at a fresh folder and returns it; it is unmounted when
// the test ends. Where it cannot mount (not Linux, not root), the test is skipped with a loud
// SKIP line, and failed instead under CI=true when it runs as root on Linux, where it should.
func SmallDisk(t testing.TB, sizeMiB int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm,mode=0700", sizeMiB), "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("SKIP: cannot mount a %d MiB tmpfs for a disk-full test (%v: %s) — disk-full test NOT run", sizeMiB, err, out)
		fmt.Fprintln(os.Stderr, msg)
		if os.Getenv("CI") == "true" && runtime.GOOS == "linux" && os.Geteuid() == 0 {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
