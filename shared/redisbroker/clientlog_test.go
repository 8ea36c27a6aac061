package redisbroker_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redisbroker"
)

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// RouteClientLogsTo routes go-redis logs into w for the test, and back to a discard
// logger afterwards.
func RouteClientLogsTo(t *testing.T, w io.Writer, mu *sync.Mutex) {
	redisbroker.RouteClientLogs(slog.New(slog.NewJSONHandler(lockedWriter{mu, w}, nil)))
	t.Cleanup(func() { redis.SetLogger(discard{}) })
}

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}
