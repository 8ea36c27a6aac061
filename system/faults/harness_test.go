// Package faults injects failures into a running system — a killed pub/sub connection,
// a restarted Redis, killed and terminated stream processes, stalled clients, an
// out-of-memory Redis, short connection lifetimes, a slow link to Redis — and checks
// that every tab still receives each notification of its audience (its user's own, its
// groups', the broadcasts) exactly once, in creation order, and nothing else (audit).
// Loopback only.
package faults

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/redistest"
	"github.com/vividly-edu/notifications/stream/server"
)

const secret = "faults-secret-faults-secret-faults-0"

var streamBin string // bin/stream, built once for the process-level tests

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faults")
	if err != nil {
		panic(err)
	}
	streamBin = filepath.Join(dir, "stream")
	if out, err := exec.Command("go", "build", "-o", streamBin, "github.com/vividly-edu/notifications/stream/cmd/stream").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build bin/stream: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// streamEnv is the environment every stream server of these tests runs with.
func streamEnv(redisAddr string, extra map[string]string) map[string]string {
	extra = maps.Clone(extra)
	if redisMode(redisAddr) == config.ModeCluster {
		if extra == nil {
			extra = map[string]string{}
		}
		extra["REDIS_MODE"] = string(config.ModeCluster)
	}
	// Many servers run on this machine at once: none serves metrics on the default
	// METRICS_ADDR (in-process servers take a free port; see metricsURL).
	env := map[string]string{"JWT_SECRET": secret, "REDIS_ADDR": redisAddr, "LOG_LEVEL": "warn",
		"RATE_LIMIT_PER_IP": "100000", "RATE_LIMIT_BURST": "100000", "MAX_CONNS": "20000",
		"RATE_LIMIT_PER_USER": "100000", "RATE_LIMIT_USER_BURST": "100000", "METRICS_ADDR": "off",
		"SSE_RETRY": "200ms", "DRAIN_TIME": "2s"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// startInProcess runs a stream server in this process; it stops at cleanup.
func startInProcess(t *testing.T, redisAddr string, extra map[string]string) string {
	return startInProcessOn(t, redisAddr, extra, 0)
}

// startInProcessOn is startInProcess with the accepted sockets' send buffer set to
// sndbuf bytes (0: the kernel's default). Loopback buffers autotune to megabytes; a
// small one models a congested path to a slow client.
func startInProcessOn(t *testing.T, redisAddr string, extra map[string]string, sndbuf int) string {
	t.Helper()
	env := streamEnv(redisAddr, map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	for k, v := range extra {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := server.LoadConfig(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := redisbroker.Open(cfg.Redis, broker.DefaultLimits, redisbroker.Options{PingInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deps, err := server.RedisDeps(ctx, cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, err := server.Build(cfg, deps, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if sndbuf == 0 {
			return nil
		}
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, sndbuf) })
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; b.Close() })
	url := "http://" + ln.Addr().String()
	waitReady(t, url)
	metricsURLs.Store(url, "http://"+srv.MetricsAddr()+"/metrics")
	return url
}

// metricsURLs maps an in-process server's URL to its metrics URL (METRICS_ADDR).
var metricsURLs sync.Map

// metricsURL is where the in-process server at url serves its metrics.
func metricsURL(t *testing.T, url string) string {
	t.Helper()
	m, ok := metricsURLs.Load(url)
	if !ok {
		t.Fatalf("no metrics address for %s", url)
	}
	return m.(string)
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	if !ready(url, nil) {
		t.Fatalf("%s not ready", url)
	}
}

// ready waits up to 10 s for url's /readyz to answer 200, giving up early when exited
// is closed.
func ready(url string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-exited:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// startRedis is the Redis a fault runs on: one private redis-server, or with
// FAULT_REDIS_MODE=cluster a private Redis Cluster of 3 masters and 3 replicas (`make
// test-cluster` runs the faults that do not handle Redis itself so). It returns the
// address to configure: the server's, or the cluster's seed list.
func startRedis(t *testing.T) string {
	t.Helper()
	if onCluster() {
		return strings.Join(redistest.StartCluster(t, redistest.ClusterOptions{}).Seeds, ",")
	}
	return redistest.Start(t, redistest.Options{}).Addr
}

// redisMode is the mode an address from startRedis needs: a list of seeds is a cluster,
// as config.Redis.Addrs reads REDIS_ADDR.
func redisMode(addr string) config.Mode {
	if strings.Contains(addr, ",") {
		return config.ModeCluster
	}
	return config.ModeStandalone
}
