package kafka

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-oss/switchboard/adapters/postgres"
	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// runDedupIndexSuite is the one suite every DedupIndex passes. open returns a fresh, empty
// index, closed when the test ends.
func runDedupIndexSuite(t *testing.T, open func(t *testing.T) DedupIndex) {
	cases := map[string]func(t *testing.T, x DedupIndex){
		"FreshClaimIsGranted":        testIndexFreshClaim,
		"LiveClaimIsHeld":            testIndexLiveClaimHeld,
		"ConfirmedIsWritten":         testIndexConfirmed,
		"FirstConfirmWins":           testIndexFirstConfirmWins,
		"ReleaseUnpublishedForgets":  testIndexReleaseUnpublished,
		"ReleaseMaybeWrittenRecover": testIndexReleaseMaybeWritten,
		"ExpiredLeaseRecovers":       testIndexExpiredLease,
		"ReleaseOnlyOwnClaims":       testIndexReleaseOnlyOwn,
		"ConfirmWithoutClaim":        testIndexConfirmWithoutClaim,
		"ConcurrentClaimsOneWinner":  testIndexConcurrentClaims,
	}
	maps.Copy(cases, streamIndexCases)
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

type claimOutcome struct {
	written map[string]eventlog.Position
	recover map[string]time.Time
	held    []string
	granted []string
}

func claim(t *testing.T, x DedupIndex, owner string, lease time.Duration, ids ...string) claimOutcome {
	t.Helper()
	w, r, h, err := x.Claim(context.Background(), owner, ids, lease)
	if err != nil {
		t.Fatalf("Claim(%s): %v", owner, err)
	}
	o := claimOutcome{written: w, recover: r, held: h}
	for _, id := range ids {
		_, inW := w[id]
		_, inR := r[id]
		inH := slices.Contains(h, id)
		n := 0
		for _, b := range []bool{inW, inR, inH} {
			if b {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("id %s comes back in %d outcomes", id, n)
		}
		if n == 0 && !slices.Contains(o.granted, id) {
			o.granted = append(o.granted, id)
		}
	}
	return o
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = domain.NewID(domain.PrefixEvent)
	}
	return out
}

const longLease = time.Minute

func testIndexFreshClaim(t *testing.T, x DedupIndex) {
	e := ids(3)
	o := claim(t, x, "a", longLease, e[0], e[1], e[2], e[1]) // a repeat is one id
	if len(o.granted) != 3 || len(o.written)+len(o.recover)+len(o.held) != 0 {
		t.Fatalf("fresh ids: %+v, want all granted", o)
	}
	if o := claim(t, x, "a", longLease); len(o.granted)+len(o.written)+len(o.recover)+len(o.held) != 0 {
		t.Fatalf("no ids: %+v", o)
	}
}

func testIndexLiveClaimHeld(t *testing.T, x DedupIndex) {
	e := ids(2)
	claim(t, x, "a", longLease, e[0])
	o := claim(t, x, "b", longLease, e[0], e[1])
	if !slices.Equal(o.held, []string{e[0]}) || !slices.Equal(o.granted, []string{e[1]}) {
		t.Fatalf("claim over a live one: %+v, want %s held and %s granted", o, e[0], e[1])
	}
	// The owner token is per call: the same owner asking again also waits.
	if o := claim(t, x, "a", longLease, e[0]); !slices.Equal(o.held, []string{e[0]}) {
		t.Fatalf("second claim by the same owner: %+v, want held", o)
	}
}

func testIndexConfirmed(t *testing.T, x DedupIndex) {
	e := ids(2)
	claim(t, x, "a", longLease, e...)
	pos := eventlog.Position{Partition: 3, Offset: 1 << 40}
	if err := x.Confirm(context.Background(), map[string]eventlog.Position{e[0]: pos}); err != nil {
		t.Fatal(err)
	}
	o := claim(t, x, "b", longLease, e...)
	if o.written[e[0]] != pos || len(o.written) != 1 || !slices.Equal(o.held, []string{e[1]}) {
		t.Fatalf("after confirm: %+v, want %s written at %v and %s held", o, e[0], pos, e[1])
	}
	// Releasing a confirmed claim changes nothing.
	if err := x.Release(context.Background(), "a", e[:1], false); err != nil {
		t.Fatal(err)
	}
	if o := claim(t, x, "c", longLease, e[0]); o.written[e[0]] != pos {
		t.Fatalf("after release of a confirmed claim: %+v", o)
	}
}

func testIndexFirstConfirmWins(t *testing.T, x DedupIndex) {
	e := ids(1)
	claim(t, x, "a", longLease, e...)
	first, second := eventlog.Position{Partition: 1, Offset: 5}, eventlog.Position{Partition: 2, Offset: 9}
	for _, p := range []eventlog.Position{first, second} {
		if err := x.Confirm(context.Background(), map[string]eventlog.Position{e[0]: p}); err != nil {
			t.Fatal(err)
		}
	}
	if o := claim(t, x, "b", longLease, e...); o.written[e[0]] != first {
		t.Fatalf("after two confirms: %+v, want the first position %v", o, first)
	}
}

func testIndexReleaseUnpublished(t *testing.T, x DedupIndex) {
	e := ids(2)
	claim(t, x, "a", longLease, e...)
	if err := x.Release(context.Background(), "a", e, false); err != nil {
		t.Fatal(err)
	}
	if o := claim(t, x, "b", longLease, e...); len(o.granted) != 2 {
		t.Fatalf("after releasing unpublished claims: %+v, want both granted afresh", o)
	}
}

func testIndexReleaseMaybeWritten(t *testing.T, x DedupIndex) {
	e := ids(1)
	before := time.Now().Add(-time.Second)
	claim(t, x, "a", longLease, e...)
	if err := x.Release(context.Background(), "a", e, true); err != nil {
		t.Fatal(err)
	}
	o := claim(t, x, "b", longLease, e...)
	since, ok := o.recover[e[0]]
	if !ok || since.Before(before) || since.After(time.Now().Add(time.Second)) {
		t.Fatalf("after a failed publish: %+v, want to recover since the first claim", o)
	}
	// The recovery is b's claim now: others wait.
	if o := claim(t, x, "c", longLease, e...); !slices.Equal(o.held, e) {
		t.Fatalf("while b recovers: %+v, want held", o)
	}
	// b released it as maybe written too (say Kafka was down): the next one recovers, with
	// the first claim's time still.
	if err := x.Release(context.Background(), "b", e, true); err != nil {
		t.Fatal(err)
	}
	o2 := claim(t, x, "d", longLease, e...)
	if got, ok := o2.recover[e[0]]; !ok || got.Sub(since).Abs() > time.Millisecond {
		t.Fatalf("second recovery: %+v, want since %v", o2, since)
	}
}

func testIndexExpiredLease(t *testing.T, x DedupIndex) {
	e := ids(1)
	claim(t, x, "a", 50*time.Millisecond, e...)
	time.Sleep(150 * time.Millisecond)
	if o := claim(t, x, "b", longLease, e...); !hasKey(o.recover, e[0]) {
		t.Fatalf("after the lease ran out: %+v, want to recover", o)
	}
}

func testIndexReleaseOnlyOwn(t *testing.T, x DedupIndex) {
	e := ids(2)
	claim(t, x, "a", longLease, e...)
	if err := x.Release(context.Background(), "b", e[:1], false); err != nil {
		t.Fatal(err)
	}
	if err := x.Release(context.Background(), "b", e[1:], true); err != nil {
		t.Fatal(err)
	}
	if o := claim(t, x, "c", longLease, e...); len(o.held) != 2 {
		t.Fatalf("after another owner's release: %+v, want both still held", o)
	}
}

func testIndexConfirmWithoutClaim(t *testing.T, x DedupIndex) {
	e := ids(1)
	pos := eventlog.Position{Partition: 0, Offset: 7}
	if err := x.Confirm(context.Background(), map[string]eventlog.Position{e[0]: pos}); err != nil {
		t.Fatal(err)
	}
	if o := claim(t, x, "a", longLease, e...); o.written[e[0]] != pos {
		t.Fatalf("after confirming an unclaimed id: %+v", o)
	}
}

func testIndexConcurrentClaims(t *testing.T, x DedupIndex) {
	e := ids(5)
	const callers = 8
	granted := make([][]string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			// Each caller asks in another order: the index must not deadlock.
			mine := slices.Clone(e)
			slices.Reverse(mine[:i%len(mine)])
			w, r, h, err := x.Claim(context.Background(), fmt.Sprintf("owner-%d", i), mine, longLease)
			if err != nil {
				t.Errorf("Claim: %v", err)
				return
			}
			if len(w)+len(r) != 0 {
				t.Errorf("fresh ids came back written or to recover: %v %v", w, r)
			}
			for _, id := range mine {
				if !slices.Contains(h, id) {
					granted[i] = append(granted[i], id)
				}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(granted...)
	slices.Sort(all)
	want := slices.Clone(e)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Fatalf("granted %v across callers, want each of %v exactly once", all, want)
	}
}

func TestDedupIndexSQLite(t *testing.T) {
	runDedupIndexSuite(t, func(t *testing.T) DedupIndex {
		x, err := sqlite.OpenEventIndex(filepath.Join(t.TempDir(), "event_index.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = x.Close() })
		return x
	})
}

// testPostgresURL is the database of the PostgreSQL tests: they skip when it is unreachable,
// except in CI, where that fails.
func testPostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("SWITCHBOARD_TEST_POSTGRES_URL")
	if url == "" {
		url = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is unreachable (SWITCHBOARD_TEST_POSTGRES_URL): %v", err)
		}
		t.Skipf("SKIPPED: PostgreSQL is unreachable, set SWITCHBOARD_TEST_POSTGRES_URL to run these tests: %v", err)
	}
	_ = conn.Close(ctx)
	return url
}

func TestDedupIndexPostgres(t *testing.T) {
	url := testPostgresURL(t)
	runDedupIndexSuite(t, func(t *testing.T) DedupIndex { return openTestPostgresIndex(t, url) })
}

// openTestPostgresIndex opens an index in a fresh schema, dropped when the test ends.
func openTestPostgresIndex(t testing.TB, url string) *postgres.EventIndex {
	t.Helper()
	schema := "eix_test_" + domain.NewID("")
	ctx := context.Background()
	x, err := postgres.OpenEventIndex(ctx, url, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = x.Close()
		if conn, err := pgx.Connect(ctx, url); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			_ = conn.Close(ctx)
		}
	})
	return x
}
