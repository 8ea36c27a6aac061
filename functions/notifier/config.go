package notifier

import (
	"context"
	"fmt"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
)

// Config is the function's configuration, read from the environment.
type Config struct {
	Redis   config.Redis `env:", prefix=REDIS_"`
	Logging config.Logging
	// LogMaxEntries and LogRetention bound each user's log (its history).
	LogMaxEntries int64         `env:"LOG_MAX_ENTRIES, default=1000"`
	LogRetention  time.Duration `env:"LOG_RETENTION, default=720h"`
	// DedupeTTL is how long a message ID is remembered; MaxEventAge drops older events
	// so that no redelivery can outlive its marker. MaxEventAge must be shorter.
	DedupeTTL   time.Duration `env:"DEDUPE_TTL, default=25h"`
	MaxEventAge time.Duration `env:"MAX_EVENT_AGE, default=24h"`
	// LogSummaryInterval is how often the INFO line counting what was published,
	// duplicated, refused and failed is written; each event is logged at DEBUG only.
	LogSummaryInterval time.Duration `env:"LOG_SUMMARY_INTERVAL, default=10s"`
	// PushEnabled queues each new notification for Web Push, which the stream
	// instances' worker sends to users with no open tab. Set it only where the stream
	// service has VAPID keys: otherwise nothing drains the queue.
	PushEnabled bool `env:"PUSH_ENABLED, default=false"`
}

// LoadConfig reads and checks the configuration.
func LoadConfig(ctx context.Context, getenv config.Getenv) (Config, error) {
	var c Config
	if err := config.Load(ctx, getenv, &c); err != nil {
		return c, err
	}
	if c.MaxEventAge <= 0 || c.MaxEventAge >= c.DedupeTTL {
		return c, fmt.Errorf("config: MAX_EVENT_AGE (%s) must be positive and shorter than DEDUPE_TTL (%s)", c.MaxEventAge, c.DedupeTTL)
	}
	if c.LogSummaryInterval <= 0 {
		return c, fmt.Errorf("config: LOG_SUMMARY_INTERVAL (%s) must be positive", c.LogSummaryInterval)
	}
	if err := c.Limits().Validate(); err != nil {
		return c, fmt.Errorf("config: LOG_MAX_ENTRIES, LOG_RETENTION, DEDUPE_TTL: %w", err)
	}
	return c, nil
}

// Limits are the broker limits the configuration sets.
func (c Config) Limits() broker.Limits {
	return broker.Limits{MaxLen: c.LogMaxEntries, Retention: c.LogRetention, DedupeTTL: c.DedupeTTL}
}
