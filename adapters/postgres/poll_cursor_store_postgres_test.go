package postgres

import (
	"context"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/cursorstoretest"
)

func TestPollCursorStoreConformance(t *testing.T) {
	cursorstoretest.Run(t, func(t *testing.T) string { return pgTestSchema(t) }, func(t *testing.T, schema string) scheduler.CursorStore {
		s, err := OpenPollCursorStore(context.Background(), pgTestURL(t), WithSchema(schema), WithLogger(pgQuiet))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
