package faults

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// Fault 9: the stream server reaches Redis over a slow link (every byte delayed 10 ms
// each way: a replay's reads of the user's own, broadcast and group logs each take a
// round trip) while own, group and broadcast notifications are published straight to
// Redis every few milliseconds. Streams end every ~1 s and the pub/sub connection is
// killed twice, so clients resume and streams resync while every log is being written:
// the resumed stream must still bring all three kinds exactly once, in creation order
// across the logs.
func TestFault9_SlowRedisLink(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	link := startSlowLink(t, rs.Addr, 10*time.Millisecond)
	url := startInProcess(t, link, map[string]string{"MAX_CONN_AGE": "1s"})
	const users = 12
	f := openFleet(t, users, 1, func() string { return url }, time.Hour)
	p := newPublisher(t, rs.Addr)
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer admin.Close()
	start := time.Now()
	for i := range 1000 {
		if i == 300 || i == 700 {
			if err := admin.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
				t.Fatal(err)
			}
		}
		// Half to a group or everyone here: every log grows during every read.
		if i%2 == 0 {
			p.publishTo(t, f, mixedLogs[(i/2)%len(mixedLogs)])
		} else {
			p.publish(t, f, fmt.Sprint("user-", i%users))
		}
		time.Sleep(2 * time.Millisecond)
	}
	published := time.Since(start)
	c := f.verify(t, "9 Redis link 10 ms each way, pub/sub killed x2, max-age 1s, 1000 notifications (own, group, broadcast), 12 users", 30*time.Second)
	var reconnects int64
	for _, tb := range f.tabs {
		reconnects += tb.reconnects.Load()
	}
	line := fmt.Sprintf("FAULT 9 published for %.2f s; %d reconnects; delivered %d, out of order across logs %d",
		published.Seconds(), reconnects, c.delivered, c.crossOrder)
	t.Log(line)
	fmt.Println(line)
}

// startSlowLink forwards loopback connections to target, holding every chunk of bytes
// for delay in each direction (order kept), and returns its address.
func startSlowLink(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer b.Close()
				done := make(chan struct{}, 2)
				go func() { delayedCopy(b, c, delay); done <- struct{}{} }()
				go func() { delayedCopy(c, b, delay); done <- struct{}{} }()
				<-done // either side ended: end both
			}()
		}
	}()
	return ln.Addr().String()
}

// delayedCopy copies src to dst, each chunk written delay after it was read.
func delayedCopy(dst io.Writer, src io.Reader, delay time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{buf[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			for range q { // drain, so the reader is not stuck
			}
			return
		}
	}
}
