package connectrpc

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// DefaultKeyCacheTTL is how long a process trusts what it read of an API key and its member.
const DefaultKeyCacheTTL = 5 * time.Second

// keyCacheSize bounds the keys one process remembers.
const keyCacheSize = 10000

// KeyCache keeps, per process, what authentication reads for every call (the API key by its
// hash, and the key's member), so that a call costs no read-model lookup. What revokes access
// invalidates it through Observe, fed with the events this process appends (synchronously,
// before the revoking call answers) and, with a log other processes share, with the events
// they append: a revoked key or a removed member is refused from then on whatever the cache or
// the read model still holds. The TTL bounds how long anything missed could live.
type KeyCache struct {
	entries *expirable.LRU[string, authEntry]
	mu      sync.Mutex
	gen     uint64
	revoked map[string]bool // key ids
	removed map[string]bool // team \x00 member id
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
	e, ok := c.entries.Get(hash)
	return e, ok && c.allowed(e), gen
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
