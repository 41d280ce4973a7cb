package postgres

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/switchboard-oss/switchboard/commands"
)

func pgOpenIdempotency(t *testing.T, schema string) *IdempotencyStore {
	t.Helper()
	s, err := OpenIdempotencyStore(context.Background(), pgTestURL(t), WithSchema(schema), WithLogger(pgQuiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestIdempotencyFirstOutcomeWins(t *testing.T) {
	schema := pgTestSchema(t)
	s := pgOpenIdempotency(t, schema)
	ctx := context.Background()
	if r, found, err := s.Get(ctx, "team_a", "key-1"); err != nil || found {
		t.Fatalf("Get of an unknown key = %+v, %v, %v", r, found, err)
	}
	first := commands.IdempotencyRecord{Command: "AssignThread", Fingerprint: "fp1", Result: []byte(`{"position":"0-1"}`)}
	if err := s.Put(ctx, "team_a", "key-1", first); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "team_a", "key-1", commands.IdempotencyRecord{Command: "TagProspect", Fingerprint: "fp2", Result: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// Another API process sees the first outcome.
	other := pgOpenIdempotency(t, schema)
	r, found, err := other.Get(ctx, "team_a", "key-1")
	if err != nil || !found || !reflect.DeepEqual(r, first) {
		t.Fatalf("Get = %+v, %v, %v; want the first outcome", r, found, err)
	}
	// Keys belong to their team.
	if _, found, err := s.Get(ctx, "team_b", "key-1"); err != nil || found {
		t.Fatalf("another team's Get = %v, %v; want not found", found, err)
	}
	second := commands.IdempotencyRecord{Command: "AssignThread", Fingerprint: "fp3"}
	if err := s.Put(ctx, "team_b", "key-1", second); err != nil {
		t.Fatal(err)
	}
	if r, found, err := s.Get(ctx, "team_b", "key-1"); err != nil || !found || r.Fingerprint != "fp3" || len(r.Result) != 0 {
		t.Fatalf("team B's record = %+v, %v, %v", r, found, err)
	}
	if r, _, _ := s.Get(ctx, "team_a", "key-1"); r.Fingerprint != "fp1" {
		t.Fatalf("team A's record changed to %+v", r)
	}
}

// Processes racing on one key agree on one outcome.
func TestIdempotencyConcurrentPuts(t *testing.T) {
	schema := pgTestSchema(t)
	stores := []*IdempotencyStore{pgOpenIdempotency(t, schema), pgOpenIdempotency(t, schema)}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- stores[i%2].Put(ctx, "team_a", "race", commands.IdempotencyRecord{Command: "C", Fingerprint: fmt.Sprint(i), Result: []byte("r")})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, _, errA := stores[0].Get(ctx, "team_a", "race")
	b, _, errB := stores[1].Get(ctx, "team_a", "race")
	if errA != nil || errB != nil || a.Fingerprint == "" || !reflect.DeepEqual(a, b) {
		t.Fatalf("outcomes = %+v (%v) and %+v (%v); want one", a, errA, b, errB)
	}
}
