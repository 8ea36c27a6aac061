// Command local runs the whole system in one process for development: the function
// endpoint (served by the Functions Framework, as in production), the stream service,
// and a broker — in memory by default, Redis when REDIS_ADDR is set.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/server"
)

// devSecret signs the development token when JWT_SECRET is unset. Local use only.
const devSecret = "local-development-secret-not-for-production"

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
	if cfg.JWTSecret == "" {
		cfg.JWTSecret = devSecret
	}
	if getenv("DEMO_ENABLED") == "" {
		cfg.DemoEnabled = true // the demo page is the local system's front door
	}
	log := logging.New(out, cfg.Logging.Level, cfg.Logging.Project)
	redisbroker.RouteClientLogs(log)

	var b fullBroker
	var deps server.Deps
	brokerName := "in-memory broker"
	if cfg.Redis.Addr == "" {
		mem, merr := broker.NewMemory(broker.DefaultLimits, time.Now)
		if merr != nil {
			return merr
		}
		b = mem
		deps, err = server.MemoryDeps(ctx, cfg, mem)
	} else {
		brokerName = "Redis at " + cfg.Redis.Addr
		rb, oerr := redisbroker.Open(cfg.Redis, broker.DefaultLimits, redisbroker.Options{Log: log})
		if oerr != nil {
			return oerr
		}
		defer rb.Close()
		b = rb
		deps, err = server.RedisDeps(ctx, cfg, rb)
	}
	if err != nil {
		return err
	}

	srv, reg, err := server.Build(cfg, deps, log)
	if err != nil {
		return err
	}
	h, err := notifier.New(b, log, notifier.NewMetrics(reg), time.Now, 24*time.Hour)
	if err != nil {
		return err
	}
	// Serve the function at "/" through the Functions Framework, as Cloud Functions does.
	os.Unsetenv("FUNCTION_TARGET")
	if err := funcframework.RegisterCloudEventFunctionContext(ctx, "/", h.Handle); err != nil {
		return err
	}
	fnErr := make(chan error, 1)
	go func() { fnErr <- funcframework.StartHostPort("127.0.0.1", lc.FunctionPort) }()

	if cfg.DemoEnabled {
		srv.Mount("GET /demo/dev-token", devTokenHandler(string(cfg.JWTSecret), lc.DevUser))
		srv.Mount("POST /demo/publish", publishHandler(string(cfg.JWTSecret), "http://127.0.0.1:"+lc.FunctionPort+"/"))
	}

	ln, err := net.Listen("tcp", "127.0.0.1:"+cfg.Port)
	if err != nil {
		return err
	}
	token, err := devToken(string(cfg.JWTSecret), lc.DevUser, 24*time.Hour)
	if err != nil {
		return err
	}
	printBanner(out, brokerName, cfg.Port, lc.FunctionPort, lc.DevUser, token, cfg.DemoEnabled)

	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ctx, ln) }()
	select {
	case err := <-fnErr:
		return fmt.Errorf("function endpoint: %w", err)
	case err := <-srvErr:
		return err
	}
}

func devToken(secret, user string, ttl time.Duration) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "iat": time.Now().Unix(), "exp": time.Now().Add(ttl).Unix(),
	}).SignedString([]byte(secret))
}

func printBanner(out io.Writer, brokerName, port, fnPort, user, token string, demo bool) {
	// The message ID is left out of the body: the function takes the ce-id header,
	// which the command makes unique, so each paste stores a new notification.
	data, _ := json.Marshal(map[string]string{"request_id": "demo-banner", "user_id": user, "status": "completed",
		"video_url": "https://cdn.example/v/demo.mp4", "title": "Photosynthesis"})
	body := strings.ReplaceAll(string(eventarc.PushBody(data, "", time.Time{})), "'", `'\''`) // shell single quotes
	fmt.Fprintf(out, `
Vividly notifications — local system (%s)
  stream   http://127.0.0.1:%[2]s/api/v1/notifications/stream   (health: /healthz /readyz, metrics: /metrics)
  function http://127.0.0.1:%[3]s/   (POST CloudEvents or Pub/Sub push bodies)

Development token for user %[4]q (valid 24 h):
  export TOKEN=%[5]s

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

`, brokerName, port, fnPort, user, token, body, eventarc.EventType)
	if demo {
		fmt.Fprintf(out, "Open the demo notification centre: http://127.0.0.1:%s/demo/\n"+
			"  (publish a job from the page; open it in several tabs: they share one connection)\n\n", port)
	}
}
