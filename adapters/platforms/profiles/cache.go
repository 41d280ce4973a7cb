package profiles

import (
	"container/list"
	"sync"
	"time"
)

// ttlCache remembers keys until a deadline, keeping at most size of them (least recently
// touched out first). Safe for concurrent use: partitions of the log are handled in parallel.
type ttlCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recently touched
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	expires time.Time
}

func newTTLCache(size int) *ttlCache {
	return &ttlCache{size: size, order: list.New(), items: map[string]*list.Element{}}
}

// Has reports whether key was put with a deadline after now.
func (c *ttlCache) Has(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return false
	}
	if !now.Before(el.Value.(*cacheEntry).expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return false
	}
	c.order.MoveToFront(el)
	return true
}

// Put remembers key until expires.
func (c *ttlCache) Put(key string, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*cacheEntry).expires = expires
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, expires: expires})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

// Len is the number of keys held (expired ones included until touched or evicted).
func (c *ttlCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
