package webpush

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestLatencyEnqueueToPush measures, for first notifications of offline users, the
// time from XADD to the push service stand-in receiving the decrypted message: the
// worker's read, presence, preferences, subscriptions, window, encryption, signing and
// the HTTP request. Run with -v to see the figures.
func TestLatencyEnqueueToPush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const users = 50
	for i := range users {
		e.subscribe(fmt.Sprint("u-", i), fmt.Sprint("/sub/", i))
	}
	e.run(e.worker)
	time.Sleep(100 * time.Millisecond) // consumer group created, first XREADGROUP blocking
	var lat []time.Duration
	for i := range users {
		start := time.Now()
		e.enqueue(fmt.Sprint("u-", i), "1-0", "video_complete")
		got, ok := e.ps.Next(5 * time.Second)
		if !ok {
			t.Fatalf("push %d not received within 5s", i)
		}
		lat = append(lat, got.At.Sub(start))
		time.Sleep(5 * time.Millisecond) // one at a time, so each starts from an idle worker
	}
	slices.Sort(lat)
	t.Logf("enqueue → push service received, %d pushes one at a time: p50 %v, p90 %v, max %v",
		users, lat[users/2], lat[users*9/10], lat[users-1])
	if lat[users-1] > 5*time.Second {
		t.Errorf("slowest push took %v, the contract allows 5s", lat[users-1])
	}
}
