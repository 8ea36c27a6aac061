package notify

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// TestPublishThousandUsersOverHTTP measures what an announcement to a 1,000-user list
// costs end to end (Functions Framework, decoding, 1,000 writes to a real Redis at the
// default concurrency) and checks each user has it:
//
//	go test ./functions -run TestPublishThousandUsersOverHTTP -v -count=1
func TestPublishThousandUsersOverHTTP(t *testing.T) {
	b := openBroker(t)
	run := runID()
	users := make([]string, notification.MaxAudienceUsers)
	for i := range users {
		users[i] = fmt.Sprintf("pt%d-%s", i, run)
	}
	data := announce(t, map[string]any{"users": users}, nil)
	const rounds = 5
	var total time.Duration
	for r := range rounds {
		start := time.Now()
		if got := deliverTo(t, publishURL, fmt.Sprintf("pt-%d-%s", r, run), data); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
		total += time.Since(start)
	}
	for _, u := range users {
		if n := len(stored(t, b, u)); n != rounds {
			t.Fatalf("%s holds %d notifications, want %d", u, n, rounds)
		}
	}
	t.Logf("an announcement to %d users: %s per delivery on average over %d (HTTP through the Functions Framework, concurrency %d, redis-server on loopback)",
		len(users), (total / rounds).Round(time.Microsecond), rounds, notifier.DefaultConcurrency)
}

// BenchmarkPublishThousandUsers compares concurrency bounds for a 1,000-user list
// against the real Redis (one op = one announcement = 1,000 writes), on loopback and
// through a proxy that adds a round trip like Memorystore's behind the VPC connector
// (0.5 ms):
//
//	go test ./functions -run '^$' -bench PublishThousandUsers -benchtime 20x
func BenchmarkPublishThousandUsers(b *testing.B) {
	run := runID()
	users := make([]string, notification.MaxAudienceUsers)
	for i := range users {
		users[i] = fmt.Sprintf("pb%d-%s", i, run)
	}
	data := announce(b, map[string]any{"users": users}, nil)
	for _, rtt := range []time.Duration{0, 500 * time.Microsecond} {
		addr := server.Addr
		if rtt > 0 {
			addr = delayProxy(b, server.Addr, rtt/2)
		}
		rb, err := redisbroker.Open(config.Redis{Addr: addr, KeyPrefix: "notifications"}, broker.DefaultLimits, redisbroker.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { rb.Close() })
		for _, c := range []int{1, 4, 8, 16, 32} {
			b.Run(fmt.Sprintf("rtt=%s/concurrency=%d", rtt, c), func(b *testing.B) {
				m := notifier.NewMetrics(prometheus.NewRegistry())
				h, err := notifier.NewPublish(rb, slog.New(slog.DiscardHandler), m,
					time.Now, time.Hour, notifier.WithConcurrency(c))
				if err != nil {
					b.Fatal(err)
				}
				i := 0
				for b.Loop() {
					i++
					w := httptest.NewRecorder()
					body := eventarc.PushBody(data, fmt.Sprintf("pb-%d-%d-%d-%s", rtt.Microseconds(), c, i, run), time.Now())
					h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
				if got := testutil.ToFloat64(m.For(PublishEntryPoint).Writes.WithLabelValues(notification.AudienceUsers)); got != float64(i*len(users)) {
					b.Fatalf("%v writes, want %d", got, i*len(users))
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(i)/float64(len(users)), "µs/write")
			})
		}
	}
}

// delayProxy forwards TCP connections to addr, holding each chunk for delay in each
// direction, and returns its own address. It stands in for a network between the
// function and Redis; it lives until the benchmark ends.
func delayProxy(b *testing.B, addr string, delay time.Duration) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				time.Sleep(delay)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return l.Addr().String()
}
