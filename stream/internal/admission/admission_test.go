package admission

import (
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimiterEngagesAndRecovers(t *testing.T) {
	t.Parallel()
	var ns atomic.Int64
	ns.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, ns.Load()) }
	l := NewLimiter(2, 3, 0, now)
	for i := range 3 {
		if ok, _ := l.Allow("1.2.3.4"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("1.2.3.4")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over the burst: %v, wait %v; want refused with a wait ≤ 0.5 s", ok, wait)
	}
	if ok, _ := l.Allow("5.6.7.8"); !ok {
		t.Fatal("another client was limited")
	}
	ns.Add(int64(600 * time.Millisecond))
	if ok, _ := l.Allow("1.2.3.4"); !ok {
		t.Fatal("not recovered after the refill time")
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		xff  []string
		hops int
		want string
	}{
		{nil, 0, "10.1.1.1"},
		{[]string{"6.6.6.6"}, 0, "10.1.1.1"}, // not trusted: ignored
		{[]string{"6.6.6.6, 7.7.7.7"}, 1, "7.7.7.7"},
		{[]string{"6.6.6.6", "7.7.7.7, 8.8.8.8"}, 2, "7.7.7.7"},
		{[]string{"garbage"}, 1, "10.1.1.1"},
		{nil, 1, "10.1.1.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.1.1.1:5555"
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientIP(r, tc.hops); got != tc.want {
			t.Errorf("ClientIP(%v, %d) = %s, want %s", tc.xff, tc.hops, got, tc.want)
		}
	}
}
