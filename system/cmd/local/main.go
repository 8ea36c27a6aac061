// Command local runs the whole system in one process for development: the function's
// two entry points (served by the Functions Framework, as in production: Notify at "/",
// Publish at "/publish"), the stream service, and a broker — in memory by default,
// Redis when REDIS_ADDR is set.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/listenfd"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

type localConfig struct {
	FunctionPort string `env:"FUNCTION_PORT, default=8081"`
	DevUser      string `env:"DEV_USER, default=student-1"`
	// LocalSecret fixes the local system's own secret (default: generated at each
	// start), for tests that sign tokens themselves or restart the system. Unlike
	// JWT_SECRET it keeps the development-token helper: it names a local-only secret.
	LocalSecret config.Secret `env:"LOCAL_JWT_SECRET"`
	// DemoGroups (comma-separated) go in development tokens that ask for no groups, so
	// the demo centre's students belong to a class (the teacher's receipts page).
	DemoGroups []string `env:"LOCAL_DEMO_GROUPS"`
}

// fullBroker is what both halves need from the broker.
type fullBroker interface {
	server.Broker
	notifier.Publisher
}

func run(ctx context.Context, getenv config.Getenv, out io.Writer) error {
	cfg, err := server.LoadConfig(ctx, getenv)
	if err != nil {
		return err
	}
	var lc localConfig
	if err := config.Load(ctx, getenv, &lc); err != nil {
		return err
	}
	if _, _, ok := listParams(strings.Join(lc.DemoGroups, ",")); !ok {
		return fmt.Errorf("LOCAL_DEMO_GROUPS: comma-separated group ids, each 1-128 of A-Z a-z 0-9 _ -")
	}
	secret, mint := demoSecret(string(cfg.JWTSecret), string(lc.LocalSecret))
	cfg.JWTSecret = config.Secret(secret)
	if getenv("DEMO_ENABLED") == "" {
		cfg.DemoEnabled = true // the demo page is the local system's front door
	}
	if getenv("METRICS_ADDR") == "" {
		// Metrics are served on the local system's own loopback port (below), so
		// several local systems on one machine do not contend for 127.0.0.1:9090.
		cfg.MetricsAddr = "off"
	}
	log := logging.New(out, cfg.Logging.Level, cfg.Logging.Project)
	redisbroker.RouteClientLogs(log)

	// The function's settings (log limits, event age, summary interval, push), read as
	// the deployed function reads them.
	fcfg, err := notifier.LoadConfig(ctx, getenv)
	if err != nil {
		return err
	}
	var b fullBroker
	var deps server.Deps
	var publishOpts []notifier.Option
	brokerName := "in-memory broker"
	if cfg.Redis.Addr == "" {
		mem, merr := broker.NewMemory(fcfg.Limits(), time.Now)
		if merr != nil {
			return merr
		}
		b = mem
		deps, err = server.MemoryDeps(ctx, cfg, mem)
	} else {
		brokerName = "Redis (" + string(cfg.Redis.Mode) + ") at " + cfg.Redis.Addr
		rb, oerr := redisbroker.Open(cfg.Redis, fcfg.Limits(), redisbroker.Options{Log: log, EnqueuePush: fcfg.PushEnabled})
		if oerr != nil {
			return oerr
		}
		defer rb.Close()
		b = rb
		deps, err = server.RedisDeps(ctx, cfg, rb)
		if err == nil {
			privacy, perr := redisbroker.NewPrivacy(rb.Client(), rb.Names(), fcfg.Limits())
			err = perr
			publishOpts = append(publishOpts, notifier.WithEraser(privacy))
		}
	}
	if err != nil {
		return err
	}

	srv, reg, err := server.Build(cfg, deps, log)
	if err != nil {
		return err
	}
	// Scheduled announcements (send_at) wait in the stream's schedule, in memory or in
	// Redis, and the stream releases them.
	fn, err := notifier.Build(fcfg, b, log, notifier.NewMetrics(reg), append(publishOpts, notifier.WithSchedule(deps.Schedule))...)
	if err != nil {
		return err
	}
	h, ph := fn.Notify, fn.Publish
	// Serve the function through the Functions Framework, as Cloud Functions does: both
	// entry points, Notify at "/" and Publish at publishPath (production deploys each as
	// its own function at "/"; here one port serves both).
	os.Unsetenv("FUNCTION_TARGET")
	// The HTTP entry points production registers: each request parsed in its own handler
	// (the SDK's CloudEvent receive path can wedge with requests in flight).
	if err := funcframework.RegisterHTTPFunctionContext(ctx, "/", h.ServeHTTP); err != nil {
		return err
	}
	if err := funcframework.RegisterHTTPFunctionContext(ctx, publishPath, ph.ServeHTTP); err != nil {
		return err
	}
	// Both ports are bound (or taken over from the parent: LISTEN_FD, FUNCTION_LISTEN_FD)
	// before anything names them; the banner and the demo page name the ports bound,
	// which PORT=0 or an inherited socket leave to the kernel or the parent.
	ln, err := listenfd.Listen(getenv, "LISTEN_FD", loopback(cfg.Port))
	if err != nil {
		return err
	}
	defer ln.Close()
	fnLn, err := listenfd.Listen(getenv, "FUNCTION_LISTEN_FD", loopback(lc.FunctionPort))
	if err != nil {
		return fmt.Errorf("function endpoint: %w", err)
	}
	defer fnLn.Close()
	port, fnPort := portOf(ln), portOf(fnLn)
	fnErr := make(chan error, 1)
	go func() { fnErr <- serveFunction(fnLn) }()

	srv.Mount("GET /metrics", srv.MetricsHandler()) // this port is loopback-only
	if cfg.DemoEnabled {
		mountDemo(srv, log, secret, mint, lc.DevUser, "http://"+loopback(fnPort)+"/", lc.DemoGroups...)
	}

	token := ""
	if mint {
		if token, err = devToken(secret, lc.DevUser, 24*time.Hour); err != nil {
			return err
		}
	}
	printBanner(out, brokerName, port, fnPort, lc.DevUser, token, cfg.DemoEnabled)
	if mint && cfg.DemoEnabled {
		if err := printRoomBanner(out, secret, port, lc.DevUser); err != nil {
			return err
		}
		printReceiptsBanner(out, port, cfg.Redis.Addr != "", lc.DemoGroups)
	}

	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ctx, ln) }()
	select {
	case err := <-fnErr:
		return fmt.Errorf("function endpoint: %w", err)
	case err := <-srvErr:
		return err
	}
}

// portOf is the port ln is bound to.
func portOf(ln net.Listener) string { return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) }

// publishPath is where the local system serves the Publish entry point, on the
// function's port.
const publishPath = "/publish"

// devToken signs a development token; groups and roles (the claims the stream reads
// by default: rooms are groups, "teacher" steers a room) are left out when empty.
func devToken(secret, user string, ttl time.Duration, groupsAndRoles ...[]string) (string, error) {
	claims := jwt.MapClaims{"sub": user, "iat": time.Now().Unix(), "exp": time.Now().Add(ttl).Unix()}
	for i, name := range []string{"groups", "roles"} {
		if i < len(groupsAndRoles) && len(groupsAndRoles[i]) > 0 {
			claims[name] = groupsAndRoles[i]
		}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// tokenLine is the banner's development token, or why there is none.
func tokenLine(user, token string) string {
	if token == "" {
		return "No development token: JWT_SECRET is set (see the log); export TOKEN=<a token signed with it>\n"
	}
	return fmt.Sprintf("Development token for user %q (valid 24 h):\n  export TOKEN=%s\n", user, token)
}

func printBanner(out io.Writer, brokerName, port, fnPort, user, token string, demo bool) {
	// The message ID is left out of the body: the function takes the ce-id header,
	// which the command makes unique, so each paste stores a new notification.
	data, _ := json.Marshal(map[string]string{"request_id": "demo-banner", "user_id": user, "status": "completed",
		"video_url": "https://cdn.example/v/demo.mp4", "title": "Photosynthesis"})
	body := strings.ReplaceAll(string(eventarc.PushBody(data, "", time.Time{})), "'", `'\''`) // shell single quotes
	// An announcement to everyone (docs/PUBLISHING.md has the contract).
	ann, _ := json.Marshal(map[string]any{"type": "announcement", "severity": "warning", "audience": map[string]any{"all": true},
		"title": "Maintenance tonight", "body": "Videos pause 22:00-22:30.", "link": "https://status.example/"})
	annBody := strings.ReplaceAll(string(eventarc.PushBody(ann, "", time.Time{})), "'", `'\''`)
	fmt.Fprintf(out, `
Vividly notifications — local system (%s)
  stream   http://127.0.0.1:%[2]s/api/v1/notifications/stream   (health: /healthz /readyz; /metrics too, here only: this port is loopback)
  function http://127.0.0.1:%[3]s/   (Notify: POST job events as CloudEvents or Pub/Sub push bodies)
           http://127.0.0.1:%[3]s%[10]s   (Publish: POST announcements from other services the same way)

%[8]s
Watch the stream (terminal 1):
  curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:%[2]s/api/v1/notifications/stream

  or as a browser does, with a single-use ticket instead of the header:
  T=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:%[2]s/api/v1/notifications/tickets | sed 's/.*"ticket":"\([^"]*\)".*/\1/')
  curl -N "http://127.0.0.1:%[2]s/api/v1/notifications/stream?ticket=$T"

Publish a sample job event as Eventarc would (terminal 2):
  curl -sS -X POST http://127.0.0.1:%[3]s/ -H 'Content-Type: application/json' \
    -H "ce-id: $(date +%%s%%N)" -H 'ce-specversion: 1.0' \
    -H 'ce-type: %[7]s' \
    -H 'ce-source: //pubsub.googleapis.com/projects/local/topics/content-job-finished' \
    -d '%[6]s'

Publish an announcement to everyone as the notifications topic's trigger would (terminal 2;
audience may also be {"users":["%[4]s"]} or {"groups":["<group id>"]}; docs/PUBLISHING.md):
  curl -sS -X POST http://127.0.0.1:%[3]s%[10]s -H 'Content-Type: application/json' \
    -H "ce-id: $(date +%%s%%N)" -H 'ce-specversion: 1.0' \
    -H 'ce-type: %[7]s' \
    -H 'ce-source: //pubsub.googleapis.com/projects/local/topics/notifications' \
    -d '%[9]s'

`, brokerName, port, fnPort, user, token, body, eventarc.EventType, tokenLine(user, token), annBody, publishPath)
	if demo {
		fmt.Fprintf(out, "Open the demo notification centre: http://127.0.0.1:%s/demo/\n"+
			"  (publish a job from the page; open it in several tabs: they share one connection)\n\n", port)
	}
}
