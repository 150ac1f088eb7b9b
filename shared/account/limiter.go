package account

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (an account name or a client
// address) in a sliding window. It is in memory: a restart forgets it,
// which costs an attacker a restart they cannot cause.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	fails  map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{window: window, max: max, fails: map[string][]time.Time{}}
}

// blocked reports whether key has reached the limit, and until when.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) >= l.max {
		return true, f[0].Add(l.window)
	}
	return false, time.Time{}
}

func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[key] = append(l.prune(key, now), now)
	if len(l.fails) > 100_000 {
		// A flood of distinct keys: forget the oldest rather than grow
		// without bound.
		for k := range l.fails {
			delete(l.fails, k)
			if len(l.fails) < 50_000 {
				break
			}
		}
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

func (l *limiter) prune(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = f
	return f
}
