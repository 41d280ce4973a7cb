// Package cursorstoretest is the conformance suite of the poll cursor store
// (scheduler.CursorStore): every adapter runs it unchanged.
package cursorstoretest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler"
	"github.com/switchboard-oss/switchboard/domain"
)

// Run runs every case. open returns a store on the adapter's storage at location: two calls
// with the same location must share it (a restart, or a second ingest process), a new
// location must be empty. fresh returns a new location.
func Run(t *testing.T, fresh func(t *testing.T) string, open func(t *testing.T, location string) scheduler.CursorStore) {
	t.Run("GetPutReplace", func(t *testing.T) {
		t.Parallel()
		s := open(t, fresh(t))
		ctx := context.Background()
		a, b := link("a"), link("b")
		if c, err := s.Get(ctx, a); err != nil || c != "" {
			t.Fatalf("Get of a link never polled = %q, %v; want \"\"", c, err)
		}
		if err := s.Put(ctx, a, "2222224ssuhx3"); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, a, `{"log":"2222224ssuhx4"}`); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Get(ctx, a); err != nil || c != `{"log":"2222224ssuhx4"}` {
			t.Fatalf("Get after a replace = %q, %v", c, err)
		}
		if c, err := s.Get(ctx, b); err != nil || c != "" {
			t.Fatalf("another link's cursor = %q, %v; want \"\"", c, err)
		}
		// A cursor may go back to empty (a poller restarting its backfill).
		if err := s.Put(ctx, a, ""); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Get(ctx, a); err != nil || c != "" {
			t.Fatalf("Get after an empty Put = %q, %v", c, err)
		}
	})
	t.Run("SurvivesRestart", func(t *testing.T) {
		t.Parallel()
		loc := fresh(t)
		ctx := context.Background()
		a := link("a")
		long := strings.Repeat("t4_2r1s1k2,", 400) // cursors may carry a small state
		if err := open(t, loc).Put(ctx, a, long); err != nil {
			t.Fatal(err)
		}
		if c, err := open(t, loc).Get(ctx, a); err != nil || c != long {
			t.Fatalf("after reopening, Get = %d bytes, %v; want the cursor stored before", len(c), err)
		}
	})
	t.Run("ConcurrentLinks", func(t *testing.T) {
		t.Parallel()
		loc := fresh(t)
		stores := []scheduler.CursorStore{open(t, loc), open(t, loc)}
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := link(fmt.Sprint(i))
				for n := range 8 {
					if err := stores[(i+n)%2].Put(ctx, id, fmt.Sprintf("cursor-%d", n)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for i := range 8 {
			if c, err := stores[i%2].Get(ctx, link(fmt.Sprint(i))); err != nil || c != "cursor-7" {
				t.Fatalf("link %d: Get = %q, %v; want its last cursor", i, c, err)
			}
		}
	})
}

func link(name string) string { return domain.DeriveID(domain.PrefixAccount, "cursorstoretest", name) }
