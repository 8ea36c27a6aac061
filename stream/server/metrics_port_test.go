package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// Issue 30 B6: a second bin/stream on one host starts although the first holds the
// default metrics port: with METRICS_ADDR unset it serves metrics on a free loopback
// port instead (and says so); set explicitly, a taken address still stops it.
func TestMetricsDefaultPortTakenFallsBack(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		fallback bool
	}{
		{map[string]string{"JWT_SECRET": secret}, true},
		{map[string]string{"JWT_SECRET": secret, "METRICS_ADDR": "127.0.0.1:9090"}, false},
	} {
		cfg, err := LoadConfig(context.Background(), func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MetricsAddr != "127.0.0.1:9090" || cfg.metricsFallback != tc.fallback {
			t.Errorf("env %v: METRICS_ADDR %q, fallback %v; want 127.0.0.1:9090, %v", tc.env, cfg.MetricsAddr, cfg.metricsFallback, tc.fallback)
		}
	}

	first := newEnv(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	cfg := testConfig()
	cfg.MetricsAddr, cfg.metricsFallback = first.srv.MetricsAddr(), true // the default, held by the first process
	_, b := newBroker(t, first.names)
	srv, _, err := Build(cfg, Deps{Broker: b, Tickets: ticket.NewMemoryStore(time.Now), Presence: presence.NewMemory(time.Now)}, first.logger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.MetricsAddr() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	second := srv.MetricsAddr()
	if second == "" || second == cfg.MetricsAddr || !strings.HasPrefix(second, "127.0.0.1:") {
		t.Fatalf("second process's metrics on %q (first holds %s)", second, cfg.MetricsAddr)
	}
	resp, err := http.Get("http://" + second + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics on the fallback port: %d", resp.StatusCode)
	}
}
