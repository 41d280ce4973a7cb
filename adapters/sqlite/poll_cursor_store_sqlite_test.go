package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/cursorstoretest"
)

func TestPollCursorStoreConformance(t *testing.T) {
	cursorstoretest.Run(t,
		func(t *testing.T) string { return filepath.Join(t.TempDir(), "pollcursors.db") },
		func(t *testing.T, path string) scheduler.CursorStore {
			s, err := OpenPollCursorStore(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
}
