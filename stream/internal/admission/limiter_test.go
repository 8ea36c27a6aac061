package admission

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

func TestLimiterKeysIPv6By64(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"192.0.2.1", "192.0.2.2", false},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
	} {
		if got := AddrKey(tc.a) == AddrKey(tc.b); got != tc.same {
			t.Errorf("AddrKey(%s)=%s, AddrKey(%s)=%s: same=%v, want %v", tc.a, AddrKey(tc.a), tc.b, AddrKey(tc.b), got, tc.same)
		}
	}
}

// Rotating IPv6 addresses inside one /64 meets the limit like one address does.
func TestLimiterRotatingIPv6WithinA64IsLimited(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := NewLimiter(1, 5, 0, c.now)
	base := netip.MustParseAddr("2001:db8:aa:bb::")
	refused := 0
	for i := range 50 {
		a := base.As16()
		a[15], a[14] = byte(i), byte(i>>8)
		if ok, _ := l.Allow(AddrKey(netip.AddrFrom16(a).String())); !ok {
			refused++
		}
	}
	if refused != 45 {
		t.Fatalf("%d of 50 refused; want 45 (one bucket of burst 5 for the whole /64)", refused)
	}
}

// 400,000 distinct addresses never grow the table past its cap, and an address that
// was tracked before the flood keeps its own bucket.
func TestLimiterTableIsBounded(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := NewLimiter(5, 20, 1000, c.now)
	l.Allow("198.51.100.7")
	for i := range 400_000 {
		l.Allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if n := l.Len(); n > 1000 {
		t.Fatalf("table holds %d keys, over its cap of 1000", n)
	}
	if ok, _ := l.Allow("198.51.100.7"); !ok {
		t.Fatal("a tracked client was limited by other addresses' flood")
	}
}

// An entry idle for burst/rate is full again, so it is dropped at the next sweep.
func TestLimiterIdleEntriesExpireQuickly(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := NewLimiter(5, 20, 0, c.now) // refills in 4 s
	for i := range 1000 {
		l.Allow(fmt.Sprint("192.0.2.", i))
	}
	c.add(5 * time.Second)
	for i := range 1024 { // the next sweep runs within 1024 new keys
		l.Allow(fmt.Sprint("203.0.113.", i))
	}
	if n := l.Len(); n > 1024 { // without expiry: 2024
		t.Fatalf("%d keys tracked: the 1000 idle for 5 s (refill time 4 s) were kept", n)
	}
}

func TestLimiterBlockedDoesNotTakeATokenAndAllowDoes(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := NewLimiter(1, 2, 0, c.now)
	for range 10 {
		if blocked, _ := l.Blocked("a"); blocked {
			t.Fatal("Blocked took tokens")
		}
	}
	l.Allow("a")
	l.Allow("a")
	blocked, wait := l.Blocked("a")
	if !blocked || wait <= 0 || wait > time.Second {
		t.Fatalf("after the burst: blocked=%v wait=%v; want blocked with a wait ≤ 1 s", blocked, wait)
	}
	c.add(time.Second)
	if blocked, _ := l.Blocked("a"); blocked {
		t.Fatal("still blocked after the refill time")
	}
}
