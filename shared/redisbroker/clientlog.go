package redisbroker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// RouteClientLogs sends go-redis's own log lines (dial failures, pool trouble) to log
// at WARN, so they reach Cloud Logging as JSON like every other line. go-redis has one
// logger per process, so this is for main to call once.
func RouteClientLogs(log *slog.Logger) {
	redis.SetLogger(clientLogger{log.With("component", "go-redis")})
}

type clientLogger struct{ log *slog.Logger }

func (c clientLogger) Printf(ctx context.Context, format string, v ...any) {
	c.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}
