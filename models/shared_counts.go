package models

import (
	"context"
	"sync"
	"time"
)

// Some figures on much-visited pages are counted over many rows: the list
// health over every contact (about 200 ms at 1M contacts on two cores), a
// campaign's errors by reason over every recipient that was not sent (100 ms
// and more when a large campaign skipped many). With many people signed in,
// such scans queued behind each other. A figure that was expensive to count
// is kept for sharedCountTTL and shared; a cheap one is counted on every
// call, so small lists and campaigns always show exact figures.
const sharedCountTTL = 15 * time.Second

// sharedCounts keeps the last expensive result per key. Each key's mutex is
// held while counting, so concurrent callers wait for one count instead of
// each starting their own.
type sharedCounts[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]*sharedCount[V]
}

type sharedCount[V any] struct {
	mu  sync.Mutex
	val V
	at  time.Time
	ok  bool
}

func newSharedCounts[K comparable, V any]() *sharedCounts[K, V] {
	return &sharedCounts[K, V]{entries: map[K]*sharedCount[V]{}}
}

// get returns key's shared value when fresh, else counts it; the result is
// shared only when expensive(result) says it was worth keeping.
func (c *sharedCounts[K, V]) get(ctx context.Context, key K, count func(context.Context) (V, error), expensive func(V) bool) (V, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &sharedCount[V]{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok && time.Since(e.at) < sharedCountTTL {
		return e.val, nil
	}
	v, err := count(ctx)
	if err != nil {
		return v, err
	}
	e.val, e.at, e.ok = v, time.Now(), expensive(v)
	return v, nil
}

// healthCountedFrom is the list size from which ListHealth is shared.
const healthCountedFrom = 50_000

// reasonsCountedFrom is how many unsent recipients a campaign has from
// which CampaignReasons is shared.
const reasonsCountedFrom = 20_000
