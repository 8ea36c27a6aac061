package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// Config is the stream service's configuration, read from the environment.
type Config struct {
	Port  string       `env:"PORT, default=8080"`
	Redis config.Redis `env:", prefix=REDIS_"`
	// LogMaxEntries, LogRetention and DedupeTTL are the function's log limits, read
	// under the same names with the same defaults: the stream writes the scheduled
	// notifications it releases into the logs, which must not follow other rules.
	LogMaxEntries int64         `env:"LOG_MAX_ENTRIES, default=1000"`
	LogRetention  time.Duration `env:"LOG_RETENTION, default=720h"`
	DedupeTTL     time.Duration `env:"DEDUPE_TTL, default=25h"`
	Logging       config.Logging
	JWTSecret     config.Secret `env:"JWT_SECRET"`
	JWTIssuer     string        `env:"JWT_ISSUER"`
	JWTAudience   string        `env:"JWT_AUDIENCE"`
	JWTUserClaim  string        `env:"JWT_USER_CLAIM, default=sub"`
	// JWTGroupsClaim names the token claim listing the user's groups.
	JWTGroupsClaim string `env:"JWT_GROUPS_CLAIM, default=groups"`
	// JWTRolesClaim names the token claim listing the user's roles ("teacher" steers a room).
	JWTRolesClaim string `env:"JWT_ROLES_CLAIM, default=roles"`
	// JWTJWKSURL enables RS256/ES256 tokens with keys from this JWKS.
	JWTJWKSURL string `env:"JWT_JWKS_URL"`
	// AuthCookie names an HttpOnly cookie holding the backend's JWT, for same-site
	// deployments; empty disables cookie credentials.
	AuthCookie string `env:"AUTH_COOKIE"`
	// TicketTTL is how long a stream ticket stays valid (never past its token's expiry).
	TicketTTL time.Duration `env:"TICKET_TTL, default=60s"`
	// AllowedOrigins may call the API from a browser with credentials (CORS).
	AllowedOrigins []string `env:"ALLOWED_ORIGINS"`
	// MaxConnsPerUser caps one user's open streams across all instances.
	MaxConnsPerUser int `env:"MAX_CONNS_PER_USER, default=10"`
	// MaxConns is this instance's ceiling; beyond it new streams get 503 so the load
	// balancer tries another instance. Match Cloud Run's concurrency.
	MaxConns int `env:"MAX_CONNS, default=1000"`
	// RateLimitPerIP and RateLimitBurst bound failed authentication per client address
	// (IPv6 by /64): malformed, oversized or badly signed tokens, wrong issuer or
	// audience, unknown tickets. Expired tokens and missing credentials are not
	// counted. Past the burst, the address gets 429 before any credential is checked.
	RateLimitPerIP float64 `env:"RATE_LIMIT_PER_IP, default=5"`
	RateLimitBurst int     `env:"RATE_LIMIT_BURST, default=50"`
	// RateLimitPerUser and RateLimitUserBurst bound one authenticated user's API
	// requests (stream opens, tickets, history), on each instance.
	RateLimitPerUser   float64 `env:"RATE_LIMIT_PER_USER, default=5"`
	RateLimitUserBurst int     `env:"RATE_LIMIT_USER_BURST, default=20"`
	// MetricsAddr is where /metrics is served (host:port, its own listener; never the
	// public port); "off" serves no metrics.
	MetricsAddr string `env:"METRICS_ADDR, default=127.0.0.1:9090"`
	// metricsFallback: METRICS_ADDR was not set, so a taken default port falls back to
	// a free loopback port (LoadConfig says why).
	metricsFallback bool
	// TrustedProxyHops is how many proxies in front of us append to X-Forwarded-For
	// (1 on Cloud Run); 0 uses the TCP peer address.
	TrustedProxyHops int `env:"TRUSTED_PROXY_HOPS, default=0"`
	// ReadHeaderTimeout bounds how long a client may take to send its headers.
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT, default=10s"`
	// RequestTimeout bounds every request except the stream itself.
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT, default=10s"`
	// Heartbeat is the longest silence on a stream before a ": ping" comment.
	Heartbeat time.Duration `env:"HEARTBEAT_INTERVAL, default=15s"`
	// MaxConnAge ends each stream after 80–100 % of this (jittered), before Cloud Run's
	// request timeout would; the client resumes with Last-Event-ID.
	MaxConnAge time.Duration `env:"MAX_CONN_AGE, default=55m"`
	// AdminAddr, when set (e.g. 127.0.0.1:6060), serves pprof on that address only.
	AdminAddr string `env:"ADMIN_ADDR"`
	// DemoEnabled serves the demo notification centre at /demo/ (make run turns it on).
	DemoEnabled bool `env:"DEMO_ENABLED, default=false"`
	// RetryHint is the reconnect delay sent in the stream's retry: line.
	RetryHint time.Duration `env:"SSE_RETRY, default=2s"`
	// WriteTimeout bounds each flush to a client; a client that cannot take a frame in
	// that time is disconnected.
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT, default=10s"`
	// QueueSize is how many notifications may wait for one connection before it is
	// dropped as too slow.
	QueueSize int `env:"CONN_QUEUE_SIZE, default=64"`
	// QueueBytes bounds the same queue in bytes of notification JSON.
	QueueBytes int64 `env:"CONN_QUEUE_BYTES, default=262144"`
	// DrainTime spreads the closing of streams on SIGTERM over this long, so clients do
	// not all reconnect at once; Cloud Run kills the process 10 s after SIGTERM.
	DrainTime time.Duration `env:"DRAIN_TIME, default=3s"`
	// Push is Web Push (VAPID_*, PUSH_*): off when no VAPID variable is set.
	Push webpush.Config
	// FCM is Firebase Cloud Messaging (FCM_*): off when FCM_PROJECT_ID is unset.
	FCM fcm.Config
	// PushFanoutRate paces a group's or everyone's push: members queued per second per
	// instance.
	PushFanoutRate float64 `env:"PUSH_FANOUT_RATE, default=1000"`
}

// LogValue implements slog.LogValuer for the start-up log: each variable by its name,
// durations as 15s rather than nanoseconds, secrets redacted.
func (c Config) LogValue() slog.Value { return config.LogValue(c) }

// Limits are the log limits the configuration sets (as the function's: notifier.Config).
func (c Config) Limits() broker.Limits {
	return broker.Limits{MaxLen: c.LogMaxEntries, Retention: c.LogRetention, DedupeTTL: c.DedupeTTL}
}

// LoadConfig reads and checks the configuration. It reports every bad variable at once
// (errors.Join), each error naming its variable; none repeats a raw value.
func LoadConfig(ctx context.Context, getenv config.Getenv) (Config, error) {
	var c Config
	// On a malformed variable Load still fills the rest (defaults in place of the bad
	// ones), so the checks below add what they find to its errors.
	errs := []error{config.Load(ctx, getenv, &c)}
	bad := func(variable, rule string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: "+rule, append([]any{variable}, args...)...))
	}
	for i, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || o == "*" {
			bad("ALLOWED_ORIGINS", "entry %d is not an origin like https://app.example", i+1)
		}
	}
	if c.JWTJWKSURL != "" {
		if err := checkJWKSURL(c.JWTJWKSURL); err != nil {
			bad("JWT_JWKS_URL", "%v", err)
		}
	}
	if err := checkListenAddr(c.MetricsAddr); err != nil {
		bad("METRICS_ADDR", "%v", err)
	}
	// Unset, the metrics port is 9090 (where Cloud Run's Managed Prometheus sidecar
	// scrapes) when it is free, and any free loopback port when it is not: a second
	// bin/stream on one host (two instances behind a local balancer) then starts
	// instead of dying on "address already in use". Set explicitly, it must be free.
	c.metricsFallback = getenv("METRICS_ADDR") == ""
	if err := c.Limits().Validate(); err != nil {
		bad("LOG_MAX_ENTRIES, LOG_RETENTION, DEDUPE_TTL", "%v", err)
	}
	if c.TicketTTL < time.Second || c.TicketTTL > 10*time.Minute {
		bad("TICKET_TTL", "must be between 1s and 10m, got %s", c.TicketTTL)
	}
	if c.MaxConnsPerUser < 1 {
		bad("MAX_CONNS_PER_USER", "must be at least 1")
	}
	if c.MaxConns < 1 {
		bad("MAX_CONNS", "must be at least 1")
	}
	if c.RateLimitPerIP <= 0 {
		bad("RATE_LIMIT_PER_IP", "must be positive")
	}
	if c.RateLimitBurst < 1 {
		bad("RATE_LIMIT_BURST", "must be at least 1")
	}
	if c.RateLimitPerUser <= 0 {
		bad("RATE_LIMIT_PER_USER", "must be positive")
	}
	if c.RateLimitUserBurst < 1 {
		bad("RATE_LIMIT_USER_BURST", "must be at least 1")
	}
	if c.TrustedProxyHops < 0 {
		bad("TRUSTED_PROXY_HOPS", "must not be negative")
	}
	if c.RequestTimeout <= 0 {
		bad("REQUEST_TIMEOUT", "must be positive")
	}
	if c.ReadHeaderTimeout <= 0 {
		bad("READ_HEADER_TIMEOUT", "must be positive")
	}
	if c.Heartbeat < 100*time.Millisecond {
		bad("HEARTBEAT_INTERVAL", "must be at least 100ms, got %s", c.Heartbeat)
	}
	if c.MaxConnAge < time.Second {
		bad("MAX_CONN_AGE", "must be at least 1s, got %s", c.MaxConnAge)
	}
	if c.RetryHint < 0 {
		bad("SSE_RETRY", "must not be negative")
	}
	if c.WriteTimeout <= 0 {
		bad("WRITE_TIMEOUT", "must be positive")
	}
	if c.QueueSize < 1 {
		bad("CONN_QUEUE_SIZE", "must be at least 1")
	}
	if c.QueueBytes < 1024 {
		bad("CONN_QUEUE_BYTES", "must be at least 1024")
	}
	if c.DrainTime < 0 || c.DrainTime > 8*time.Second {
		bad("DRAIN_TIME", "must be between 0 and 8s (Cloud Run allows 10s), got %s", c.DrainTime)
	}
	if err := c.Push.Validate(); err != nil { // names the variable, never the key
		errs = append(errs, err)
	}
	if err := c.FCM.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.PushFanoutRate < 1 || c.PushFanoutRate > 100000 {
		bad("PUSH_FANOUT_RATE", "must be between 1 and 100000 users per second")
	}
	return c, errors.Join(errs...)
}

// checkJWKSURL accepts an https URL of a JWKS, or http to a loopback host (tests, a
// local issuer). The URL is parsed, not prefix-matched: http://127.0.0.1@evil/ names
// the host evil (127.0.0.1 is its userinfo) and is refused, as is any userinfo.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.User != nil:
		return errors.New("must not carry userinfo (user@host)")
	case u.Hostname() == "" || u.Opaque != "":
		return errors.New("must name a host, like https://issuer.example/.well-known/jwks.json")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
		return nil
	}
	return errors.New("must be an https URL (http only to 127.0.0.1, ::1 or localhost)")
}

// loopbackHost reports a host name that can only mean this machine.
func loopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// checkListenAddr accepts "off" or host:port with a numeric port (0: any free port).
func checkListenAddr(addr string) error {
	if addr == "off" || addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New(`must be host:port (like 127.0.0.1:9090) or "off"`)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	return nil
}
