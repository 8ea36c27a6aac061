package config

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// TestLoadReportsEveryBadVariable: one Load names every missing or malformed variable,
// not only the first, and still fills the good ones (and defaults for the bad).
func TestLoadReportsEveryBadVariable(t *testing.T) {
	t.Parallel()
	var c sample
	err := Load(context.Background(), env(map[string]string{
		"HEARTBEAT_INTERVAL": "soon", "LOG_LEVEL": "verbose", "REDIS_KEY_PREFIX": "a{b}",
		"REDIS_ADDR": "127.0.0.1:6379", "PORT": "9090",
	}), &c)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, name := range []string{"HEARTBEAT_INTERVAL", "LOG_LEVEL", "REDIS_KEY_PREFIX", "JWT_SECRET"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 4 {
		t.Errorf("%d errors joined, want one per bad variable (4):\n%v", n, err)
	}
	if !errors.Is(err, envconfig.ErrMissingRequired) {
		t.Errorf("missing JWT_SECRET is not ErrMissingRequired: %v", err)
	}
	if c.Port != "9090" || c.Redis.Addr != "127.0.0.1:6379" || c.Heartbeat != 15*time.Second {
		t.Errorf("good values and defaults not filled: %+v", c)
	}
}

// TestLoadErrorsNeverEchoValues: a value that fails to decode is not repeated in the
// error (it may be a secret pasted into the wrong variable).
func TestLoadErrorsNeverEchoValues(t *testing.T) {
	t.Parallel()
	const leaked = "hunter2-s3cret"
	var c sample
	err := Load(context.Background(), env(map[string]string{
		"JWT_SECRET": leaked, "HEARTBEAT_INTERVAL": leaked, "LOG_LEVEL": leaked, "REDIS_KEY_PREFIX": leaked + "{",
	}), &c)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	if strings.Contains(err.Error(), leaked) {
		t.Fatalf("error echoes a value: %v", err)
	}
}

type durations struct {
	TTL     time.Duration `env:"TICKET_TTL, default=60s"`
	Age     time.Duration `env:"MAX_CONN_AGE, default=55m"`
	Redis   Redis         `env:", prefix=REDIS_"`
	Logging Logging
	Secret  Secret   `env:"JWT_SECRET"`
	Origins []string `env:"ALLOWED_ORIGINS"`
	hidden  int
}

func (d durations) LogValue() slog.Value { return LogValue(d) }

// TestLogValue: the start-up log keys each variable by its name, shows durations as
// 1m0s rather than nanoseconds, and redacts secrets.
func TestLogValue(t *testing.T) {
	t.Parallel()
	d := durations{hidden: 7} // kept by Load, left out of the log
	if err := Load(context.Background(), env(map[string]string{
		"JWT_SECRET": "s3cret", "REDIS_PASSWORD": "pw-s3cret", "REDIS_ADDR": "10.0.0.3:6378", "LOG_LEVEL": "warn",
		"ALLOWED_ORIGINS": "https://a.example",
	}), &d); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("configured", "config", d)
	out := buf.String()
	for _, want := range []string{`"TICKET_TTL":"1m0s"`, `"MAX_CONN_AGE":"55m0s"`, `"REDIS_ADDR":"10.0.0.3:6378"`,
		`"REDIS_PASSWORD":"[redacted]"`, `"JWT_SECRET":"[redacted]"`, `"LOG_LEVEL":"warn"`,
		`"REDIS_KEY_PREFIX":"notifications"`, `"ALLOWED_ORIGINS":["https://a.example"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if d.hidden != 7 {
		t.Errorf("Load lost a field it does not fill: %+v", d)
	}
	if strings.Contains(out, "s3cret") || strings.Contains(out, "60000000000") || strings.Contains(out, "hidden") {
		t.Errorf("log leaks a secret, a raw duration or an unexported field:\n%s", out)
	}
}
