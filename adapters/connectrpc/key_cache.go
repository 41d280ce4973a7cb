package connectrpc

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// DefaultKeyCacheTTL is how long a process trusts what it read of an API key and its member.
const DefaultKeyCacheTTL = 5 * time.Second

// keyCacheSize bounds the keys one process remembers.
const keyCacheSize = 10000

// KeyCacheEventTypes are the events Observe acts on: what a follower of the events other
// processes append reads for the cache.
var KeyCacheEventTypes = []string{domain.TypeAPIKeyRevoked, domain.TypeMemberRemoved}

// DefaultKeyCacheMaxLag is how far behind the log a followed cache may be and still be trusted.
const DefaultKeyCacheMaxLag = 2 * time.Second

// KeyCache keeps, per process, what authentication reads for every call (the API key by its
// hash, and the key's member), so that a call costs no read-model lookup. What revokes access
// invalidates it through Observe, fed with the events this process appends (synchronously,
// before the revoking call answers) and, with a log other processes share, with the events
// they append, read by a follower of the log (see Follow): a revoked key or a removed member
// is refused from then on whatever the cache or the read model still holds. A followed cache
// is trusted only while its follower has read the log up to less than maxLag ago; beyond
// that (a follower starting, behind or failing) every call reads the read model, so a failing
// follower never lengthens a revoked key's life. The TTL bounds how long anything missed could
// live.
type KeyCache struct {
	entries *expirable.LRU[string, authEntry]
	mu      sync.Mutex
	gen     uint64
	revoked map[string]bool // key ids
	removed map[string]bool // team \x00 member id

	// With a follower (maxLag > 0): caughtUp is the unix nanoseconds before which every event
	// of the shared log has been observed (since means the follower started, until it is known).
	maxLag   time.Duration
	caughtUp atomic.Int64
	since    time.Time
}

type authEntry struct {
	key    projections.APIKey
	member projections.Member
}

// NewKeyCache returns a cache whose entries live ttl; ttl <= 0 returns nil (no cache: every
// call reads the read model).
func NewKeyCache(ttl time.Duration) *KeyCache {
	if ttl <= 0 {
		return nil
	}
	return &KeyCache{entries: expirable.NewLRU[string, authEntry](keyCacheSize, nil, ttl),
		revoked: map[string]bool{}, removed: map[string]bool{}}
}

// get returns the entry of a key hash, and the generation to put a fresh lookup with.
func (c *KeyCache) get(hash string) (authEntry, bool, uint64) {
	if c == nil {
		return authEntry{}, false, 0
	}
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	if c.behind() > 0 {
		return authEntry{}, false, gen // not trusted: read the read model
	}
	e, ok := c.entries.Get(hash)
	return e, ok && c.allowed(e), gen
}

// Follow makes the cache trusted only while what other processes append reaches it through
// Observe and CaughtUp within maxLag (<= 0: DefaultKeyCacheMaxLag). Until the follower's first
// CaughtUp, every call reads the read model. Call it before the cache serves.
func (c *KeyCache) Follow(maxLag time.Duration) {
	if c == nil {
		return
	}
	if maxLag <= 0 {
		maxLag = DefaultKeyCacheMaxLag
	}
	c.maxLag, c.since = maxLag, time.Now()
}

// CaughtUp tells a followed cache that every event appended before asOf has been observed.
func (c *KeyCache) CaughtUp(asOf time.Time) {
	if c == nil || asOf.IsZero() {
		return
	}
	n := asOf.UnixNano()
	for {
		old := c.caughtUp.Load()
		if n <= old || c.caughtUp.CompareAndSwap(old, n) {
			return
		}
	}
}

// FollowerLag is how long ago a followed cache was last known caught up with the log (since
// it began following while it never was); 0 without a follower.
func (c *KeyCache) FollowerLag() time.Duration {
	if c == nil || c.maxLag <= 0 {
		return 0
	}
	asOf := c.since
	if n := c.caughtUp.Load(); n != 0 {
		asOf = time.Unix(0, n)
	}
	return max(time.Since(asOf), 0)
}

// behind is how far beyond maxLag a followed cache is (> 0: not trusted).
func (c *KeyCache) behind() time.Duration {
	if c.maxLag <= 0 {
		return 0
	}
	if c.caughtUp.Load() == 0 {
		return max(time.Since(c.since), time.Nanosecond) // never caught up yet
	}
	return c.FollowerLag() - c.maxLag
}

// FollowerState is nil while a followed cache is trusted (or has no follower, or its follower
// is just starting), else why every call reads the read model: for /readyz.
func (c *KeyCache) FollowerState() error {
	if c == nil || c.maxLag <= 0 {
		return nil
	}
	if lag := c.FollowerLag(); lag > c.maxLag {
		return fmt.Errorf("not caught up with the event log for %s: API keys are read from the read model on every call",
			lag.Round(time.Second))
	}
	return nil
}

// put remembers a lookup made at generation gen, unless access was revoked since.
func (c *KeyCache) put(hash string, e authEntry, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return // something was revoked while the read model was read: it may predate that
	}
	c.entries.Add(hash, e)
}

// allowed reports whether nothing observed revoked the entry's access.
func (c *KeyCache) allowed(e authEntry) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.revoked[e.key.ID] && !c.removed[e.key.TeamID+"\x00"+e.key.MemberID]
}

// Observe applies appended events: a revoked key or a removed member loses access at once.
func (c *KeyCache) Observe(events []domain.Event) {
	if c == nil {
		return
	}
	for _, e := range events {
		switch p := e.Payload.(type) {
		case domain.APIKeyRevoked:
			c.mu.Lock()
			c.revoked[p.KeyID] = true
			c.gen++
			c.mu.Unlock()
		case domain.MemberRemoved:
			c.mu.Lock()
			c.removed[e.TeamID+"\x00"+p.MemberID] = true
			c.gen++
			c.mu.Unlock()
		default:
			continue
		}
		c.entries.Purge()
	}
}
