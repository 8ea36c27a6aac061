package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/vividly-edu/notifications/functions/redisscale"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/logging"
)

// ScaleEntryPoint raises Memorystore's capacity one step when the scaling alert fires
// (functions/redisscale; terraform/redis_scale.tf deploys it with its own account,
// which may update Redis and nothing else). It needs no Redis connection.
const ScaleEntryPoint = "RedisScale"

// Registered like Notify and Publish: an HTTP function that reads each CloudEvent
// itself (notify.go says why).
func init() {
	EntryPoints = append(EntryPoints, ScaleEntryPoint)
	functions.HTTP(ScaleEntryPoint, serveScale)
}

// scaler is built once per instance, on first use, like the other entry points'.
var scaler = sync.OnceValues(func() (*redisscale.Handler, error) {
	h, err := newScaleHandler(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redisscale: bad configuration:", err)
	}
	return h, err
})

func newScaleHandler(ctx context.Context, getenv config.Getenv) (*redisscale.Handler, error) {
	level := config.Level(slog.LevelInfo)
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := level.EnvDecode(v); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL: %w", err)
		}
	}
	cfg, err := redisscale.LoadConfig(getenv)
	if err != nil {
		return nil, err
	}
	s, err := redisscale.NewScaler(ctx, cfg)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, level, getenv("GOOGLE_CLOUD_PROJECT"))
	log.Info("redisscale configured", "resource", cfg.Resource, "min", cfg.Min, "max", cfg.Max, "step", cfg.Step)
	return &redisscale.Handler{Scale: s.Scale, Log: log}, nil
}

func serveScale(w http.ResponseWriter, r *http.Request) {
	h, err := scaler()
	if err != nil {
		// Broken until a redeploy: 500 keeps the alert in Pub/Sub for the fixed revision.
		http.Error(w, "function is misconfigured", http.StatusInternalServerError)
		return
	}
	h.ServeHTTP(w, r)
}
