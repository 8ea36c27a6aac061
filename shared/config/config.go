// Package config reads typed configuration from environment variables. Both binaries
// embed its structs; every error names the variable at fault.
package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Getenv looks a variable up; os.Getenv in production, a map in tests.
type Getenv func(string) string

// Load fills target, a pointer to a struct with `env` tags, from getenv. An empty value
// counts as unset. A malformed value is an error that names its variable.
func Load(ctx context.Context, getenv Getenv, target any) error {
	// Fields are looked up one at a time, each just before it is decoded, so the last
	// key looked up names the variable of a decoding error.
	var current string
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target: target,
		Lookuper: envconfig.LookuperFunc(func(key string) (string, bool) {
			current = key
			v := getenv(key)
			return v, v != ""
		}),
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, envconfig.ErrMissingRequired) {
		return fmt.Errorf("config: %w", err)
	}
	return fmt.Errorf("config: %s: %s", current, cause(err))
}

// cause drops envconfig's "Field: Field: " prefixes, which name Go fields rather than
// the variables an operator sets.
func cause(err error) string {
	msg := err.Error()
	for {
		head, rest, ok := strings.Cut(msg, ": ")
		if !ok || strings.ContainsAny(head, " \"") || head == "" || head[0] < 'A' || head[0] > 'Z' {
			return msg
		}
		msg = rest
	}
}

// Secret is a string that never appears in logs or formatted output.
type Secret string

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler: a config logged as a whole (slog's JSON
// handler marshals nested structs with encoding/json, bypassing LogValue) stays redacted.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Redis is how to reach Redis (REDIS_*).
type Redis struct {
	// Addr is host:port; empty means "no Redis" where a binary has an alternative.
	Addr     string `env:"ADDR"`
	Password Secret `env:"PASSWORD"`
	// TLSCA is the path of a PEM file with the server's CA certificates; it turns TLS on.
	TLSCA string `env:"TLS_CA"`
	// KeyPrefix starts every key and channel name, so environments can share a Redis.
	KeyPrefix KeyPrefix `env:"KEY_PREFIX, default=notifications"`
}

// KeyPrefix is a Redis name prefix: no braces (they would break the per-user hash tag),
// no spaces or control bytes.
type KeyPrefix string

// EnvDecode implements envconfig.Decoder.
func (p *KeyPrefix) EnvDecode(v string) error {
	if len(v) > 64 || strings.ContainsAny(v, "{}*?[] \t\r\n") {
		return errors.New("must be at most 64 characters without braces, glob characters or spaces")
	}
	*p = KeyPrefix(v)
	return nil
}

// Logging configures the log output (LOG_LEVEL, GOOGLE_CLOUD_PROJECT).
type Logging struct {
	Level Level `env:"LOG_LEVEL, default=info"`
	// Project names the Google Cloud project in trace links; Cloud Run sets it.
	Project string `env:"GOOGLE_CLOUD_PROJECT"`
}

// Level is a log level spelt debug, info, warn or error. It is a slog.Leveler.
type Level slog.Level

// Level implements slog.Leveler.
func (l Level) Level() slog.Level { return slog.Level(l) }

// EnvDecode implements envconfig.Decoder.
func (l *Level) EnvDecode(v string) error {
	switch strings.ToLower(v) {
	case "debug":
		*l = Level(slog.LevelDebug)
	case "info":
		*l = Level(slog.LevelInfo)
	case "warn", "warning":
		*l = Level(slog.LevelWarn)
	case "error":
		*l = Level(slog.LevelError)
	default:
		return fmt.Errorf("%q is not one of debug, info, warn, error", v)
	}
	return nil
}
