// Package notify is the Cloud Function: it registers the entry point with the
// Functions Framework. Google's buildpack builds this package (it must not be main);
// bin/notify (cmd/local) serves it locally.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// EntryPoint is the name the function is deployed and served under (FUNCTION_TARGET).
const EntryPoint = "Notify"

// The entry point is an HTTP function that parses each CloudEvent itself with the
// CloudEvents SDK's HTTP binding (notifier.Handler.ServeHTTP), not a CloudEvent
// function: the Functions Framework's CloudEvent path (cloudevents/sdk-go's
// NewHTTPReceiveHandler) can leave a request unanswered when concurrent requests meet
// a cancelled client (cloudevents/sdk-go#1224, #1332; docs/PERFORMANCE.md). Eventarc
// and Pub/Sub push deliver the same HTTP requests to either kind.
func init() {
	functions.HTTP(EntryPoint, serve)
}

// production is built once per instance, on first use: configuration errors are fatal
// until a redeploy anyway, and the Redis client dials lazily.
var production = sync.OnceValues(func() (*notifier.Handler, error) {
	h, err := newHandler(context.Background(), os.Getenv, prometheus.DefaultRegisterer)
	if err != nil {
		// Once, where Cloud Logging shows it; every request then answers 500.
		fmt.Fprintln(os.Stderr, "notify: bad configuration:", err)
	}
	return h, err
})

// newHandler wires the production handler from the environment.
func newHandler(ctx context.Context, getenv config.Getenv, reg prometheus.Registerer) (*notifier.Handler, error) {
	cfg, err := notifier.LoadConfig(ctx, getenv)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, cfg.Logging.Level, cfg.Logging.Project)
	redisbroker.RouteClientLogs(log)
	b, err := redisbroker.Open(cfg.Redis, cfg.Limits(), redisbroker.Options{Log: log, EnqueuePush: cfg.PushEnabled})
	if err != nil {
		return nil, err
	}
	// GOMAXPROCS shows what Go made of the instance's CPU limit (docs/PERFORMANCE.md
	// measures the function at 1, as on a 1-vCPU instance).
	log.Info("notify function configured", "config", slog.AnyValue(cfg), "gomaxprocs", runtime.GOMAXPROCS(0))
	return notifier.New(b, log, notifier.NewMetrics(reg), time.Now, cfg.MaxEventAge,
		notifier.WithSummaryInterval(cfg.LogSummaryInterval))
}

// Setup builds the production handler now, so a local server can refuse to start with
// a bad configuration instead of failing its first event.
func Setup() error {
	_, err := production()
	return err
}

func serve(w http.ResponseWriter, r *http.Request) {
	h, err := production()
	if err != nil {
		// The configuration is broken until a redeploy: 500, so Pub/Sub keeps the
		// events for the fixed revision (the error was printed when it was built).
		http.Error(w, "function is misconfigured", http.StatusInternalServerError)
		return
	}
	h.ServeHTTP(w, r)
}
