package server

// The security suite (make test-security): every test here is named TestSecurity_… and
// proves one defence listed in docs/SECURITY.md.
//
// This file: limits: connection caps, body sizes and timeouts (rate limits: security_admission_test.go).

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

func TestSecurity_ConnectionCaps(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxConnsPerUser, c.MaxConns = 2, 3 })
	a1, a2 := e.open("gus", "", ""), e.open("gus", "", "")
	if _, status := e.tryOpen(token(t, "gus", time.Hour), "", ""); status != http.StatusTooManyRequests {
		t.Fatalf("third stream for one user: %d, want 429", status)
	}
	e.open("hal", "", "")
	if _, status := e.tryOpen(token(t, "ivy", time.Hour), "", ""); status != http.StatusServiceUnavailable {
		t.Fatalf("over the instance ceiling: %d, want 503", status)
	}
	a1.close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, status := e.tryOpen(token(t, "gus", time.Hour), "", "")
		if status == http.StatusOK {
			c.close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed after a stream closed: %d", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a2.close()
}

func TestSecurity_OversizedBodies(t *testing.T) {
	e := newEnv(t, nil)
	tok := token(t, "jay", time.Hour)
	big := strings.Repeat("x", 70<<10)
	for name, chunked := range map[string]bool{"content-length": false, "chunked": true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(strings.NewReader(big)) // unknown length: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/notifications/tickets", body)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d, want 413", name, resp.StatusCode)
		}
	}
}

// hangingStore never answers until the request is abandoned.
type hangingStore struct{}

func (hangingStore) Put(ctx context.Context, _, _ string, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

func (hangingStore) Take(ctx context.Context, _ string) (string, bool, error) {
	<-ctx.Done()
	return "", false, ctx.Err()
}

func TestSecurity_Timeouts(t *testing.T) {
	e := &env{t: t, names: rediskey.Names{Prefix: "timeouts"}, tickets: hangingStore{}}
	e.rdb, e.pub = newBroker(t, e.names)
	e.start(func(c *Config) { c.RequestTimeout, c.ReadHeaderTimeout = 200*time.Millisecond, 300*time.Millisecond })

	start := time.Now()
	_, status := e.ticketFor(token(t, "max", time.Hour))
	if status != http.StatusServiceUnavailable || time.Since(start) > 3*time.Second {
		t.Fatalf("stuck ticket request: %d after %s; want 503 after REQUEST_TIMEOUT", status, time.Since(start))
	}
	// Slow-loris: headers that never finish are cut off after READ_HEADER_TIMEOUT.
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start = time.Now()
	io.ReadAll(c) // returns when the server closes the connection
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("half-sent headers held the connection for %s", d)
	}
}
