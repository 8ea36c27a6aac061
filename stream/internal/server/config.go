package server

import (
	"context"
	"fmt"
	"time"

	"github.com/vividly-edu/notifications/shared/config"
)

// Config is the stream service's configuration, read from the environment.
type Config struct {
	Port         string       `env:"PORT, default=8080"`
	Redis        config.Redis `env:", prefix=REDIS_"`
	Logging      config.Logging
	JWTSecret    config.Secret `env:"JWT_SECRET"`
	JWTIssuer    string        `env:"JWT_ISSUER"`
	JWTAudience  string        `env:"JWT_AUDIENCE"`
	JWTUserClaim string        `env:"JWT_USER_CLAIM, default=sub"`
	// JWTJWKSURL is refused until RS256/ES256 verification exists: ignoring it would
	// leave an operator believing those tokens are checked.
	JWTJWKSURL string `env:"JWT_JWKS_URL"`
	// Heartbeat is the longest silence on a stream before a ": ping" comment.
	Heartbeat time.Duration `env:"HEARTBEAT_INTERVAL, default=15s"`
	// MaxConnAge ends each stream after 80–100 % of this (jittered), before Cloud Run's
	// request timeout would; the client resumes with Last-Event-ID.
	MaxConnAge time.Duration `env:"MAX_CONN_AGE, default=55m"`
	// RetryHint is the reconnect delay sent in the stream's retry: line.
	RetryHint time.Duration `env:"SSE_RETRY, default=2s"`
	// WriteTimeout bounds each flush to a client; a client that cannot take a frame in
	// that time is disconnected.
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT, default=10s"`
	// QueueSize is how many notifications may wait for one connection before it is
	// dropped as too slow.
	QueueSize int `env:"CONN_QUEUE_SIZE, default=64"`
	// DrainTime spreads the closing of streams on SIGTERM over this long, so clients do
	// not all reconnect at once; Cloud Run kills the process 10 s after SIGTERM.
	DrainTime time.Duration `env:"DRAIN_TIME, default=3s"`
}

// LoadConfig reads and checks the configuration.
func LoadConfig(ctx context.Context, getenv config.Getenv) (Config, error) {
	var c Config
	if err := config.Load(ctx, getenv, &c); err != nil {
		return c, err
	}
	switch {
	case c.JWTJWKSURL != "":
		return c, fmt.Errorf("config: JWT_JWKS_URL: RS256/ES256 through a JWKS is not supported yet; only HS256 with JWT_SECRET")
	case c.Heartbeat < 100*time.Millisecond:
		return c, fmt.Errorf("config: HEARTBEAT_INTERVAL must be at least 100ms, got %s", c.Heartbeat)
	case c.MaxConnAge < time.Second:
		return c, fmt.Errorf("config: MAX_CONN_AGE must be at least 1s, got %s", c.MaxConnAge)
	case c.RetryHint < 0 || c.WriteTimeout <= 0:
		return c, fmt.Errorf("config: SSE_RETRY must not be negative and WRITE_TIMEOUT must be positive")
	case c.QueueSize < 1:
		return c, fmt.Errorf("config: CONN_QUEUE_SIZE must be at least 1, got %d", c.QueueSize)
	case c.DrainTime < 0 || c.DrainTime > 8*time.Second:
		return c, fmt.Errorf("config: DRAIN_TIME must be between 0 and 8s (Cloud Run allows 10s), got %s", c.DrainTime)
	}
	return c, nil
}
