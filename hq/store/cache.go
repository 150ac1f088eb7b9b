package store

import (
	"sync"
	"time"
)

// shortCache keeps a value read from the database for a few seconds:
// what every reply carries (HQ's root statements, the withdrawn keys,
// the peer key) changes rarely, and reading it for each of a thousand
// replies at once costs more than the reply itself. A change made by this
// process drops the value at once (forget); one made by another (the
// command line) is seen within the lifetime.
type shortCache[T any] struct {
	mu sync.Mutex
	at time.Time
	ok bool
	v  T
}

// cacheLife is how long a cached value lives.
const cacheLife = 5 * time.Second

// get returns the value cached less than cacheLife before now (HQ's
// clock, which tests move), or loads it.
func (c *shortCache[T]) get(now time.Time, load func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && now.Sub(c.at) < cacheLife && !now.Before(c.at) {
		return c.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.v, c.at, c.ok = v, now, true
	return v, nil
}

func (c *shortCache[T]) forget() {
	c.mu.Lock()
	c.ok = false
	c.mu.Unlock()
}
