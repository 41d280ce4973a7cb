package connectrpc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// countingKeys is a read model holding one key (whatever the hash asked) and counting reads.
type countingKeys struct {
	key   projections.APIKey
	reads atomic.Int64
}

func (k *countingKeys) APIKeyByHash(context.Context, string) (projections.APIKey, error) {
	k.reads.Add(1)
	return k.key, nil
}

func (k *countingKeys) Member(_ context.Context, teamID, id string) (projections.Member, error) {
	return projections.Member{ID: id, TeamID: teamID, Role: "agent"}, nil
}

// A cache fed by a follower of other processes' appends is trusted only while the follower
// is caught up: before its first report, and when its last one is older than the bound, every
// call reads the read model; a revocation it observed is refused whatever the read model says.
func TestFollowedKeyCacheTrustedOnlyWhileCaughtUp(t *testing.T) {
	keys := &countingKeys{key: projections.APIKey{ID: "key_1", TeamID: "team_1", MemberID: "mem_1"}}
	cache := NewKeyCache(time.Hour)
	cache.Follow(time.Minute)
	auth := authInterceptor{keys: keys, hasher: commands.NewAPIKeyHasher([]byte("0123456789abcdef0123456789abcdef")), cache: cache}
	authenticate := func() error {
		_, err := auth.authenticate(context.Background(), "Bearer sb_live_key")
		return err
	}
	readsOf := func(what string, want int64) {
		t.Helper()
		before := keys.reads.Load()
		if err := authenticate(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := keys.reads.Load() - before; got != want {
			t.Errorf("%s: %d read-model reads, want %d", what, got, want)
		}
	}
	readsOf("before the follower caught up", 1)
	readsOf("again before the follower caught up", 1)
	if err := cache.FollowerState(); err != nil {
		t.Errorf("a follower just started is reported as %v", err)
	}

	cache.CaughtUp(time.Now().Add(-2 * time.Minute))
	readsOf("the follower last caught up beyond the bound", 1)
	if err := cache.FollowerState(); err == nil {
		t.Error("a follower behind by more than the bound is not reported")
	}

	cache.CaughtUp(time.Now())
	// What was read meanwhile is kept: a revocation the follower observes later removes it.
	readsOf("the follower caught up: served by the cache", 0)
	if err := cache.FollowerState(); err != nil {
		t.Errorf("a caught-up follower is reported as %v", err)
	}
	if lag := cache.FollowerLag(); lag <= 0 || lag > time.Minute {
		t.Errorf("follower lag %v just after it caught up", lag)
	}

	cache.CaughtUp(time.Now().Add(-time.Hour)) // a report older than the last changes nothing
	readsOf("an older report does not move the caught-up time back", 0)

	cache.Observe([]domain.Event{{TeamID: "team_1", Payload: domain.APIKeyRevoked{KeyID: "key_1", MemberID: "mem_1"}}})
	if err := authenticate(); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("a key the follower saw revoked: %v, want Unauthenticated (the read model still holds it)", err)
	}
}

// Without a follower (one process appends to the log) the cache is trusted at once.
func TestKeyCacheWithoutFollower(t *testing.T) {
	keys := &countingKeys{key: projections.APIKey{ID: "key_1", TeamID: "team_1", MemberID: "mem_1"}}
	cache := NewKeyCache(time.Hour)
	auth := authInterceptor{keys: keys, hasher: commands.NewAPIKeyHasher([]byte("0123456789abcdef0123456789abcdef")), cache: cache}
	for range 3 {
		if _, err := auth.authenticate(context.Background(), "Bearer sb_live_key"); err != nil {
			t.Fatal(err)
		}
	}
	if n := keys.reads.Load(); n != 1 {
		t.Errorf("%d read-model reads for three calls, want 1", n)
	}
	if cache.FollowerState() != nil || cache.FollowerLag() != 0 {
		t.Error("a cache without a follower reports one")
	}
}

// The cost of a call served by the cache, with and without a follower to check.
func BenchmarkKeyCacheHit(b *testing.B) {
	for _, followed := range []bool{false, true} {
		b.Run(map[bool]string{false: "alone", true: "followed"}[followed], func(b *testing.B) {
			keys := &countingKeys{key: projections.APIKey{ID: "key_1", TeamID: "team_1", MemberID: "mem_1"}}
			cache := NewKeyCache(time.Hour)
			if followed {
				cache.Follow(time.Hour)
				cache.CaughtUp(time.Now())
			}
			auth := authInterceptor{keys: keys, hasher: commands.NewAPIKeyHasher([]byte("0123456789abcdef0123456789abcdef")), cache: cache}
			ctx := context.Background()
			for b.Loop() {
				if _, err := auth.authenticate(ctx, "Bearer sb_live_key"); err != nil {
					b.Fatal(err)
				}
			}
			if keys.reads.Load() != 1 {
				b.Fatalf("%d read-model reads", keys.reads.Load())
			}
		})
	}
}
