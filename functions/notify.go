// Package notify is the Cloud Function: it registers the CloudEvent entry point with the
// Functions Framework. Google's buildpack builds this package (it must not be main);
// bin/notify (cmd/local) serves it locally.
package notify

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// EntryPoint is the name the function is deployed and served under.
const EntryPoint = "Notify"

func init() {
	functions.CloudEvent(EntryPoint, handle)
}

// production is built once per instance, on first use: configuration errors are fatal
// until a redeploy anyway, and the Redis client dials lazily.
var production = sync.OnceValues(func() (*notifier.Handler, error) {
	return newHandler(context.Background(), os.Getenv, prometheus.DefaultRegisterer)
})

// newHandler wires the production handler from the environment.
func newHandler(ctx context.Context, getenv config.Getenv, reg prometheus.Registerer) (*notifier.Handler, error) {
	cfg, err := notifier.LoadConfig(ctx, getenv)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, cfg.Logging.Level, cfg.Logging.Project)
	redisbroker.RouteClientLogs(log)
	b, err := redisbroker.Open(cfg.Redis, cfg.Limits(), redisbroker.Options{Log: log})
	if err != nil {
		return nil, err
	}
	log.Info("notify function configured", "config", slog.AnyValue(cfg))
	return notifier.New(b, log, notifier.NewMetrics(reg), time.Now, cfg.MaxEventAge)
}

// Setup builds the production handler now, so a local server can refuse to start with
// a bad configuration instead of failing its first event.
func Setup() error {
	_, err := production()
	return err
}

func handle(ctx context.Context, e event.Event) error {
	h, err := production()
	if err != nil {
		return err
	}
	return h.Handle(ctx, e)
}
