// Package notify is the Cloud Function: it registers its entry points with the
// Functions Framework — Notify for job events, Publish for notifications from other
// services (publish.go). Google's buildpack builds this package (it must not be main)
// and serves the entry point named by FUNCTION_TARGET; bin/notify (cmd/local) does the
// same locally.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// EntryPoint is the name the job-event entry point is deployed and served under
// (FUNCTION_TARGET), and the default of bin/notify.
const EntryPoint = notifier.NotifyEntryPoint

// EntryPoints are the names of every entry point, as FUNCTION_TARGET may name them.
var EntryPoints = []string{EntryPoint, PublishEntryPoint}

// The entry point is an HTTP function that parses each CloudEvent itself with the
// CloudEvents SDK's HTTP binding (notifier.Handler.ServeHTTP), not a CloudEvent
// function: the Functions Framework's CloudEvent path (cloudevents/sdk-go's
// NewHTTPReceiveHandler) can leave a request unanswered when concurrent requests meet
// a cancelled client (cloudevents/sdk-go#1224, #1332; docs/PERFORMANCE.md). Eventarc
// and Pub/Sub push deliver the same HTTP requests to either kind.
func init() {
	functions.HTTP(EntryPoint, serve)
}

// handlers are the entry points' handlers, sharing one broker (one Redis client) and one
// set of metrics. Cloud Functions deploys each entry point as its own service, which
// builds both; the one it never serves holds nothing of its own (no connection, no
// goroutine).
type handlers struct {
	notify, publish *notifier.Handler
}

// production is built once per instance, on first use: configuration errors are fatal
// until a redeploy anyway, and the Redis client dials lazily.
var production = sync.OnceValues(func() (handlers, error) {
	h, err := newHandlers(context.Background(), os.Getenv, prometheus.DefaultRegisterer)
	if err != nil {
		// Once, where Cloud Logging shows it; every request then answers 500.
		fmt.Fprintln(os.Stderr, "notify: bad configuration:", err)
	}
	return h, err
})

// newHandlers wires the production handlers from the environment.
func newHandlers(ctx context.Context, getenv config.Getenv, reg prometheus.Registerer) (handlers, error) {
	cfg, err := notifier.LoadConfig(ctx, getenv)
	if err != nil {
		return handlers{}, err
	}
	log := logging.New(os.Stdout, cfg.Logging.Level, cfg.Logging.Project)
	redisbroker.RouteClientLogs(log)
	// One counter for both entry points: they share the broker, which counts.
	unreplicated := prometheus.NewCounter(prometheus.CounterOpts{Name: "notify_unreplicated_total",
		Help: "Notifications acknowledged although no Redis replica was connected to hold them (lost if the primary fails)."})
	if err := reg.Register(unreplicated); err != nil {
		return handlers{}, err
	}
	b, err := redisbroker.Open(cfg.Redis, cfg.Limits(), redisbroker.Options{Log: log, EnqueuePush: cfg.PushEnabled,
		OnUnreplicated: unreplicated.Inc})
	if err != nil {
		return handlers{}, err
	}
	// GOMAXPROCS shows what Go made of the instance's CPU limit (docs/PERFORMANCE.md
	// measures the function at 1, as on a 1-vCPU instance).
	log.Info("notify function configured", "config", slog.AnyValue(cfg), "gomaxprocs", runtime.GOMAXPROCS(0))
	privacy, err := redisbroker.NewPrivacy(b.Client(), b.Names(), cfg.Limits())
	if err != nil {
		return handlers{}, err
	}
	// Announcements with send_at wait in Redis until a stream instance releases them.
	sched := redisbroker.NewSchedule(b.Client(), b.Names())
	built, err := notifier.Build(cfg, b, log, notifier.NewMetrics(reg), notifier.WithEraser(privacy), notifier.WithSchedule(sched))
	if err != nil {
		return handlers{}, err
	}
	h := handlers{notify: built.Notify, publish: built.Publish}
	return h, nil
}

// Setup builds the production handlers now, so a local server can refuse to start with
// a bad configuration instead of failing its first event.
func Setup() error {
	_, err := production()
	return err
}

// CheckEntryPoint reports whether name is an entry point this function registers, with
// an error listing them when it is not.
func CheckEntryPoint(name string) error {
	if slices.Contains(EntryPoints, name) {
		return nil
	}
	return fmt.Errorf("unknown entry point %q: FUNCTION_TARGET must be one of %s", name, strings.Join(EntryPoints, ", "))
}

func serve(w http.ResponseWriter, r *http.Request) {
	serveWith(w, r, func(h handlers) *notifier.Handler { return h.notify })
}

// serveWith serves r with the handler pick chooses from the production ones.
func serveWith(w http.ResponseWriter, r *http.Request, pick func(handlers) *notifier.Handler) {
	h, err := production()
	if err != nil {
		// The configuration is broken until a redeploy: 500, so Pub/Sub keeps the
		// events for the fixed revision (the error was printed when it was built).
		http.Error(w, "function is misconfigured", http.StatusInternalServerError)
		return
	}
	pick(h).ServeHTTP(w, r)
}
