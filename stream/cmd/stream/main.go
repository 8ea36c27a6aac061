// Command stream is the SSE service: it holds browsers' EventSource connections and
// delivers each user's notifications from Redis.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/listenfd"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/admin"
	"github.com/vividly-edu/notifications/stream/internal/memlimit"
	"github.com/vividly-edu/notifications/stream/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv config.Getenv, stdout io.Writer) error {
	cfg, err := server.LoadConfig(ctx, getenv)
	if err != nil {
		return err
	}
	log := logging.New(stdout, cfg.Logging.Level, cfg.Logging.Project)
	if limit, from := memlimit.Set(getenv); limit > 0 {
		log.Info("Go memory limit set from the container's", "go_memory_limit_bytes", limit, "source", from)
	}
	if memlimit.SetGCPercent(getenv) {
		log.Info("GOGC set to the stream's measured default", "gogc", memlimit.GCPercent)
	}
	redisbroker.RouteClientLogs(log)
	// The stream reads the log, and writes only scheduled notifications it releases
	// (queued for Web Push, as the function's writes are, when push is configured).
	b, err := redisbroker.Open(cfg.Redis, cfg.Limits(), redisbroker.Options{Log: log, EnqueuePush: cfg.Push.Enabled() || cfg.FCM.Enabled()})
	if err != nil {
		return err
	}
	// Safe to close when run returns: Serve joins every goroutine that uses b (streams,
	// the pub/sub feed, the presence refresh, the push worker) before it returns.
	defer b.Close()
	deps, err := server.RedisDeps(ctx, cfg, b)
	if err != nil {
		return err
	}
	srv, _, err := server.Build(cfg, deps, log)
	if err != nil {
		return err
	}
	stopAdmin, err := admin.Start(cfg.AdminAddr, log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	ln, err := listenfd.Listen(getenv, "LISTEN_FD", ":"+cfg.Port)
	if err != nil {
		return err
	}
	return srv.Serve(ctx, ln)
}
