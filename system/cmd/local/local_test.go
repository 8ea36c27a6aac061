package main

// The local system's part of the security suite (make test-security; docs/SECURITY.md,
// issue 19 item 9): the development-token helper exists only with the local system's
// own secret, listens on loopback only and answers only loopback Host names.

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type mounted map[string]http.Handler

func (m mounted) Mount(pattern string, h http.Handler) { m[pattern] = h }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSecurity_DevTokenOnlyWithTheLocalSecret(t *testing.T) {
	t.Parallel()
	// JWT_SECRET set by the user: used as it is, no token helper, and a log line says why.
	secret, mint := demoSecret("a-secret-real-services-share", "")
	if secret != "a-secret-real-services-share" || mint {
		t.Fatalf("with JWT_SECRET: %q, mint %v", secret, mint)
	}
	var logs bytes.Buffer
	m := mounted{}
	mountDemo(m, slog.New(slog.NewJSONHandler(&logs, nil)), secret, mint, "u", "http://127.0.0.1:1/")
	if _, ok := m["GET /demo/dev-token"]; ok {
		t.Error("the token helper is served with JWT_SECRET set")
	}
	if _, ok := m["POST /demo/publish"]; !ok {
		t.Error("the publish helper is missing")
	}
	if !strings.Contains(logs.String(), "no /demo/dev-token: JWT_SECRET is set") || strings.Contains(logs.String(), secret) {
		t.Errorf("log does not say why (or shows the secret): %s", logs.String())
	}
	// Unset: a secret generated for each start (never a constant anyone can read), with the helper.
	a, mintA := demoSecret("", "")
	b, _ := demoSecret("", "")
	if !mintA || a == b || len(a) != 64 {
		t.Errorf("generated secrets %q, %q (mint %v): want 32 random bytes each start", a, b, mintA)
	}
	// LOCAL_JWT_SECRET: a local-only secret a test can sign with, with the helper.
	if s, mint := demoSecret("", "local-only"); s != "local-only" || !mint {
		t.Errorf("LOCAL_JWT_SECRET: %q, mint %v", s, mint)
	}
}

// bannerPorts reads the stream and function ports from the local system's banner, once
// it has printed it.
func bannerPorts(banner string) (port, fnPort string, ok bool) {
	m := regexp.MustCompile(`stream +http://127\.0\.0\.1:(\d+)/[\s\S]*function +http://127\.0\.0\.1:(\d+)/`).FindStringSubmatch(banner)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// TestSecurity_LocalSystemLoopbackOnly runs the local system: its port is bound to
// 127.0.0.1 alone, and the helpers refuse a Host that is not a loopback name (DNS
// rebinding), whatever the port. It binds both ports itself (0: the kernel picks them,
// the banner names them), as loopback-only is its own choice; a parent handing it
// sockets (LISTEN_FD) binds them where it likes.
func TestSecurity_LocalSystemLoopbackOnly(t *testing.T) {
	env := map[string]string{"PORT": "0", "FUNCTION_PORT": "0", "LOG_LEVEL": "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, &out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("run did not return")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	port, fnPort, ok := bannerPorts(out.String())
	for ; !ok; port, fnPort, ok = bannerPorts(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no banner naming the ports:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := "http://127.0.0.1:" + port
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("local system not ready: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	status := func(method, path, host string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(`{}`))
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for host, want := range map[string]int{
		"127.0.0.1:" + port: 200, "localhost:" + port: 200, "[::1]:" + port: 200, "LOCALHOST:" + port: 200,
		"127.0.0.1:1":          200, // another port of this machine: any page targeting us sends our port anyway
		"evil.example:" + port: 403, "evil.example": 403, "127.0.0.1.evil.example:" + port: 403, "localhost.evil.example": 403,
	} {
		if got := status(http.MethodGet, "/demo/dev-token?user=mallory", host); got != want {
			t.Errorf("dev-token with Host %q: %d, want %d", host, got, want)
		}
		if want == 403 {
			if got := status(http.MethodPost, "/demo/publish", host); got != 403 {
				t.Errorf("publish with Host %q: %d, want 403", host, got)
			}
		}
	}
	// Metrics stay on this loopback port (no second listener on 127.0.0.1:9090).
	if got := status(http.MethodGet, "/metrics", "127.0.0.1:"+port); got != 200 {
		t.Errorf("/metrics on the local port: %d", got)
	}
	// Bound to loopback: this machine's other addresses do not answer on the port.
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		for _, p := range []string{port, fnPort} {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), p), time.Second); err == nil {
				c.Close()
				t.Errorf("port %s answers on %s: not loopback only", p, ipn.IP)
			}
		}
	}
}
