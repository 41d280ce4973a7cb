package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockFileName is the file inside the data folder whose exclusive lock marks the folder as in
// use. It holds the owner's pid, for the message a second process prints.
const lockFileName = "switchboard.lock"

// dataDirLock is the exclusive lock one process holds on its data folder: the embedded engines
// (SQLite files, the search index) must never be opened by two processes at once. The kernel
// releases it when the process dies, however it dies.
type dataDirLock struct{ f *os.File }

// errNoLockFile: the folder has no lock file yet (tryLockDataDir creates nothing).
var errNoLockFile = errors.New("no lock file")

// tryLockDataDir locks an existing lock file, creating nothing: a process that is going to fail
// (its port is busy) must leave the disk as it found it. errNoLockFile when there is none.
func tryLockDataDir(dir string) (*dataDirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoLockFile
	}
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	return lockFile(dir, f)
}

// lockDataDir creates the data folder and its lock file if needed, and locks it.
func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	return lockFile(dir, f)
}

func lockFile(dir string, f *os.File) (*dataDirLock, error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := os.ReadFile(f.Name())
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				return nil, fmt.Errorf("data folder %s is in use by pid %d (one process per data folder; stop it, or give this one another --data-dir)", dir, pid)
			}
			return nil, fmt.Errorf("data folder %s is in use by another process (one process per data folder; stop it, or give this one another --data-dir)", dir)
		}
		return nil, fmt.Errorf("--data-dir: locking %s: %w", f.Name(), err)
	}
	// The pid only improves another process's message: failing to write it is no reason to stop.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dataDirLock{f: f}, nil
}

// release unlocks the folder. The file stays: removing it would let a third process lock a new
// file while a second still waits on the old one.
func (l *dataDirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}
