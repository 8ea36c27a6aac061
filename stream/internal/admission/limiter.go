package admission

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds a Limiter's table: at ~250 bytes an entry, 100,000 keys are
// ~25 MB, and a key unused for burst/rate seconds is dropped anyway.
const DefaultMaxKeys = 100_000

// overflowKey shares one bucket among the keys that arrive while the table is full:
// an attacker who fills the table with fresh addresses limits only that shared bucket,
// never the clients already tracked, and never grows the heap.
const overflowKey = "\x00overflow"

// Limiter is a token bucket per key with a bounded table. Safe for concurrent use.
type Limiter struct {
	rate    rate.Limit
	burst   int
	maxKeys int
	idle    time.Duration
	now     func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	calls     int
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter allows perSecond requests per key on average, burst at once, tracking at
// most maxKeys keys (DefaultMaxKeys when maxKeys ≤ 0).
func NewLimiter(perSecond float64, burst, maxKeys int, now func() time.Time) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	// A bucket left alone for burst/rate is full again: forgetting it then changes
	// nothing for its key, so idle entries go as soon as they are equal to new ones.
	idle := time.Duration(float64(burst) / perSecond * float64(time.Second))
	idle = max(idle, time.Second)
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, maxKeys: maxKeys, idle: idle, now: now,
		buckets: map[string]*bucket{}}
}

// Allow takes a token for key. When there is none it returns false and how long until
// there will be one (for Retry-After).
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(key, now)
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	return false, l.wait(b, now)
}

// Blocked reports, without taking a token, whether key has none left, and how long
// until it will. It lets a caller refuse early and take a token only on failure.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if b, ok = l.buckets[overflowKey]; !ok {
			return false, 0 // an untracked key has a full bucket
		}
	}
	if b.lim.TokensAt(now) >= 1 {
		return false, 0
	}
	return true, l.wait(b, now)
}

// Len is the number of keys tracked (for metrics and tests).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// bucket returns key's bucket, creating it; l.mu is held.
func (l *Limiter) bucket(key string, now time.Time) *bucket {
	if b, ok := l.buckets[key]; ok {
		b.seen = now
		return b
	}
	l.calls++
	full := len(l.buckets) >= l.maxKeys-1 // one place stays for the overflow bucket
	// A full table is swept at most once a second: sweeping on every new key would let
	// a flood of fresh addresses buy a walk over the whole table per request.
	if l.calls%1024 == 0 || full && now.Sub(l.lastSweep) >= time.Second {
		l.sweep(now)
		full = len(l.buckets) >= l.maxKeys-1
	}
	if full {
		key = overflowKey
		if b, ok := l.buckets[key]; ok {
			b.seen = now
			return b
		}
	}
	b := &bucket{lim: rate.NewLimiter(l.rate, l.burst), seen: now}
	l.buckets[key] = b
	return b
}

// sweep drops buckets idle long enough to be full again; l.mu is held.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.seen) > l.idle {
			delete(l.buckets, k)
		}
	}
}

func (l *Limiter) wait(b *bucket, now time.Time) time.Duration {
	r := b.lim.ReserveN(now, 1)
	defer r.CancelAt(now)
	if !r.OK() {
		return time.Duration(math.MaxInt64)
	}
	return r.DelayFrom(now)
}
