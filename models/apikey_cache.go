package models

import (
	"sync"
	"time"
)

// apiKeyTTL is how long a looked-up API key is trusted without asking the
// database again. Every /api/v1 call authenticates, and a lookup per call
// is a round trip on the transactional path; a revocation made through this
// process drops the key at once, one made through another instance is seen
// here within the TTL.
const apiKeyTTL = 5 * time.Second

// apiKeyCache holds live API keys by token hash for apiKeyTTL. Unknown or
// revoked tokens are not cached: a wrong key always costs a lookup, so a
// key created elsewhere works at once.
type apiKeyCache struct {
	mu   sync.Mutex
	keys map[string]cachedKey
}

type cachedKey struct {
	key APIKey
	at  time.Time
}

func newAPIKeyCache() *apiKeyCache { return &apiKeyCache{keys: map[string]cachedKey{}} }

// get returns a copy of the cached key for hash if it is fresh.
func (c *apiKeyCache) get(hash string, now time.Time) (*APIKey, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.keys[hash]
	if !ok || now.Sub(e.at) >= apiKeyTTL || now.Before(e.at) {
		return nil, false
	}
	k := e.key
	return &k, true
}

func (c *apiKeyCache) put(hash string, k APIKey, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) > 10_000 { // drop stale entries rather than grow without end
		for h, e := range c.keys {
			if now.Sub(e.at) >= apiKeyTTL {
				delete(c.keys, h)
			}
		}
	}
	c.keys[hash] = cachedKey{key: k, at: now}
}

// drop forgets key id (revoked).
func (c *apiKeyCache) drop(id int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.keys {
		if e.key.ID == id {
			delete(c.keys, h)
		}
	}
}
