package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/switchboard-oss/switchboard/adapters/sqlite"
)

// OpenEventLogForExport opens the embedded event log of a stopped server's data folder
// read-only, for switchboard events export --data-dir. It takes the folder's lock first, so it
// refuses a folder a server is using (naming its pid) and a server started meanwhile refuses
// to start until release is called; it creates nothing in the folder. A folder whose log is on
// Kafka has no events.db: the error says to export through the API.
func OpenEventLogForExport(dir string) (_ *sqlite.ReadOnlyEventLog, release func(), err error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("--data-dir: no folder %s", dir)
		}
		return nil, nil, fmt.Errorf("--data-dir: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("--data-dir: %s is not a folder", dir)
	}
	path := filepath.Join(dir, "events.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("--data-dir: %s has no embedded event log (events.db): a server whose log is on Kafka is exported through its API (--api)", dir)
	}
	lock, err := tryLockDataDir(dir)
	switch {
	case errors.Is(err, errNoLockFile):
		lock = nil // a folder no server of this release has opened: nothing to lock against
	case err != nil:
		return nil, nil, fmt.Errorf("%w; or export through its API with --api while it runs", err)
	}
	log, err := sqlite.OpenEventLogReadOnly(path)
	if err != nil {
		lock.release()
		return nil, nil, fmt.Errorf("--data-dir: %w", err)
	}
	return log, func() { _ = log.Close(); lock.release() }, nil
}
