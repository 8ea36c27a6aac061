package server

// Benchmarks for issue 15's in-process costs: a broadcast is one PUBLISH that the hub
// fans out to every local stream (BenchmarkBroadcastFanOut), and every frame's SSE id
// is the stream's whole cursor (BenchmarkCursorString).
//
//	go test -run '^$' -bench 'BroadcastFanOut|CursorString' -benchmem ./stream/server/

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
	"github.com/vividly-edu/notifications/stream/internal/hub"
)

// nopBroker takes the hub's subscriptions and does nothing else.
type nopBroker struct{ broker.Broker }

func (nopBroker) Subscribe(context.Context, string) error   { return nil }
func (nopBroker) Unsubscribe(context.Context, string) error { return nil }

// BenchmarkBroadcastFanOut: one Deliver of a broadcast envelope to N subscribers, each
// joined to its user's log, the broadcast log and a group, and each drained by a
// goroutine of its own as a connection's live loop does (Ready, then Take). One op is
// one broadcast until every subscriber has taken it: ns/op is the in-process fan-out
// time of a broadcast at N local streams; B/op and allocs/op include the drainers'.
// "deliver-ns/op" is the part spent inside Deliver (the hub's lock held).
func BenchmarkBroadcastFanOut(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n, "subs"), func(b *testing.B) { benchFanOut(b, n) })
	}
}

func benchFanOut(b *testing.B, n int) {
	h, err := hub.New(nopBroker{}, hub.Options{QueueSize: 64, QueueBytes: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var got sync.WaitGroup // one Done per subscriber per broadcast taken
	stop := make(chan struct{})
	var drainers sync.WaitGroup
	for i := range n {
		sub, err := h.Join(ctx, fmt.Sprint("user-", i), broker.Everyone, broker.GroupSource(fmt.Sprint("class-", i%300)))
		if err != nil {
			b.Fatal(err)
		}
		drainers.Go(func() {
			defer sub.Close()
			var batch []hub.Item
			for {
				select {
				case <-stop:
					return
				case <-sub.Ready():
				}
				var dropped bool
				batch, dropped = sub.Take(batch[:0])
				if dropped {
					panic("subscriber dropped")
				}
				for range batch {
					got.Done()
				}
				clear(batch)
			}
		})
	}
	data := notification.WithID("!all:1764174645123-0", []byte(`{"type":"announcement","severity":"warning","title":"Maintenance tonight","body":"Videos pause 22:00–22:30.","created_at":"2026-12-01T17:00:00.000Z"}`))
	env, err := notification.ParseEnvelope(data)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var inDeliver time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got.Add(n)
		start := time.Now()
		h.Deliver(broker.Everyone, env)
		inDeliver += time.Since(start)
		got.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(inDeliver.Nanoseconds())/float64(b.N), "deliver-ns/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/stream")
	close(stop)
	drainers.Wait()
}

// BenchmarkCursorString: the SSE id of every frame is the stream's cursor as text:
// own + broadcast (2 sources, a user without groups) and own + broadcast + 18 groups.
func BenchmarkCursorString(b *testing.B) {
	for _, groups := range []int{0, 18} {
		c := cursor.Cursor{cursor.Own: rediskey.StreamID{Ms: 1764174645123, Seq: 0}, broker.Everyone: rediskey.StreamID{Ms: 1764174600000, Seq: 3}}
		for i := range groups {
			c[broker.GroupSource(fmt.Sprintf("class-%02d-biology", i))] = rediskey.StreamID{Ms: 1764174000000 + uint64(i), Seq: 1}
		}
		b.Run(fmt.Sprint(len(c), "sources"), func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				size = len(c.String())
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
