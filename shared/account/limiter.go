package account

import (
	"sync"
	"time"
)

// Limiter counts attempts per key (an account name, a client address) in
// a sliding window, and refuses a key once it has used them all. It is in
// memory: a restart forgets it, which costs an attacker a restart they
// cannot cause. It is safe for concurrent use.
//
// An attempt is counted when it starts, not when it has failed: forty
// guesses sent at once take forty slots, so only as many are tried as the
// limit allows. One that succeeds gives its slot back ([Limiter.Refund]).
type Limiter struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	tries  map[string][]time.Time
}

// NewLimiter allows max attempts per key in any window.
func NewLimiter(max int, window time.Duration) *Limiter {
	return &Limiter{window: window, max: max, tries: map[string][]time.Time{}}
}

// Attempt counts an attempt by key at now, if the key has one left. When
// it has none it reports false and when the oldest attempt leaves the
// window.
func (l *Limiter) Attempt(key string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) >= l.max {
		return false, f[0].Add(l.window)
	}
	l.tries[key] = append(f, now)
	if len(l.tries) > 100_000 {
		// A flood of distinct keys: forget some rather than grow without
		// bound.
		for k := range l.tries {
			delete(l.tries, k)
			if len(l.tries) < 50_000 {
				break
			}
		}
	}
	return true, time.Time{}
}

// Refund gives back the attempt key made at at: it succeeded.
func (l *Limiter) Refund(key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.tries[key]
	for i, t := range f {
		if t.Equal(at) {
			l.tries[key] = append(f[:i:i], f[i+1:]...)
			break
		}
	}
	if len(l.tries[key]) == 0 {
		delete(l.tries, key)
	}
}

// Reset forgets every attempt of key.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.tries, key)
}

func (l *Limiter) prune(key string, now time.Time) []time.Time {
	f := l.tries[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.tries, key)
		return nil
	}
	l.tries[key] = f
	return f
}
