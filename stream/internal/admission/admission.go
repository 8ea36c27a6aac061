// Package admission decides whether a new request may proceed: a token bucket per
// client IP, so one client cannot flood the connect path.
package admission

import (
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per key. Safe for concurrent use.
type Limiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	calls   int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// idle is how long an unused bucket is kept; by then it is full again anyway.
const idle = 10 * time.Minute

// NewLimiter allows perSecond requests per key on average, burst at once.
func NewLimiter(perSecond float64, burst int, now func() time.Time) *Limiter {
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, now: now, buckets: map[string]*bucket{}}
}

// Allow takes a token for key. When there is none it returns false and how long until
// there will be one (for Retry-After).
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.calls++
	if l.calls%1024 == 0 {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idle {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	r := b.lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	if !r.OK() {
		wait = time.Duration(math.MaxInt64)
	}
	return false, wait
}

// ClientIP returns the address a request came from. With hops > 0 it trusts that many
// proxies in front of us (Cloud Run's front end is one) and takes the address the
// outermost trusted proxy saw: the hops-th entry from the right of X-Forwarded-For.
// Entries further left are the client's own claims and are ignored.
func ClientIP(r *http.Request, hops int) string {
	if hops > 0 {
		var parts []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, p := range strings.Split(h, ",") {
				parts = append(parts, strings.TrimSpace(p))
			}
		}
		if len(parts) >= hops {
			if ip := net.ParseIP(parts[len(parts)-hops]); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
