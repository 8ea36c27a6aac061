package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := LoadConfig(context.Background(), get(map[string]string{"JWT_SECRET": "x"}))
	if err != nil || c.Port != "8080" || c.Heartbeat != 15*time.Second || c.MaxConnAge != 55*time.Minute || c.JWTUserClaim != "sub" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	if c.RateLimitPerIP != 5 || c.RateLimitBurst != 50 || c.RateLimitPerUser != 5 || c.RateLimitUserBurst != 20 ||
		c.MetricsAddr != "127.0.0.1:9090" {
		t.Fatalf("admission and metrics defaults: %+v", c)
	}
	if c.FCM.Enabled() || c.FCM.Concurrency != 128 || c.PushFanoutRate != 1000 {
		t.Fatalf("push defaults: FCM %+v, fan-out rate %v", c.FCM, c.PushFanoutRate)
	}
	for name, tc := range map[string]struct{ env map[string]string }{
		"HEARTBEAT_INTERVAL":    {map[string]string{"HEARTBEAT_INTERVAL": "1ms"}},
		"MAX_CONN_AGE":          {map[string]string{"MAX_CONN_AGE": "10ms"}},
		"CONN_QUEUE_SIZE":       {map[string]string{"CONN_QUEUE_SIZE": "0"}},
		"DRAIN_TIME":            {map[string]string{"DRAIN_TIME": "20s"}},
		"JWT_JWKS_URL":          {map[string]string{"JWT_JWKS_URL": "ftp://issuer.example/jwks"}},
		"ALLOWED_ORIGINS":       {map[string]string{"ALLOWED_ORIGINS": "https://a.example,*"}},
		"TICKET_TTL":            {map[string]string{"TICKET_TTL": "1h"}},
		"MAX_CONNS_PER_USER":    {map[string]string{"MAX_CONNS_PER_USER": "0"}},
		"RATE_LIMIT_PER_IP":     {map[string]string{"RATE_LIMIT_PER_IP": "-1"}},
		"RATE_LIMIT_PER_USER":   {map[string]string{"RATE_LIMIT_PER_USER": "0"}},
		"RATE_LIMIT_USER_BURST": {map[string]string{"RATE_LIMIT_USER_BURST": "0"}},
		"METRICS_ADDR":          {map[string]string{"METRICS_ADDR": "9090"}},
		"LOG_LEVEL":             {map[string]string{"LOG_LEVEL": "loud"}},
		"PUSH_FANOUT_RATE":      {map[string]string{"PUSH_FANOUT_RATE": "0"}},
		"FCM_PROJECT_ID":        {map[string]string{"FCM_PROJECT_ID": "Not/AProject"}},
		"FCM_ENDPOINT":          {map[string]string{"FCM_ENDPOINT": "http://127.0.0.1:9/"}},
		"FCM_CONCURRENCY":       {map[string]string{"FCM_PROJECT_ID": "p", "FCM_CONCURRENCY": "0"}},
	} {
		_, err := LoadConfig(context.Background(), get(tc.env))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name it", name, err)
		}
	}
}

// TestLoadConfigReportsEveryBadVariable: one start names every bad variable, from
// parsing (Load) and from the checks alike, each in its own error.
func TestLoadConfigReportsEveryBadVariable(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"HEARTBEAT_INTERVAL": "soon", "MAX_CONNS": "lots", "LOG_LEVEL": "deafening", // malformed
		"DRAIN_TIME": "20s", "CONN_QUEUE_SIZE": "0", "ALLOWED_ORIGINS": "*", "TICKET_TTL": "1h", // out of range
		"JWT_SECRET": "do-not-print-me",
	}
	_, err := LoadConfig(context.Background(), func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("LoadConfig succeeded")
	}
	for _, name := range []string{"HEARTBEAT_INTERVAL", "MAX_CONNS", "LOG_LEVEL", "DRAIN_TIME", "CONN_QUEUE_SIZE", "ALLOWED_ORIGINS", "TICKET_TTL"} {
		if !strings.Contains(err.Error(), "config: "+name+":") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 5 { // Load's joined three count as one
		t.Errorf("%d errors, want Load's and four checks':\n%v", n, err)
	}
	for _, v := range []string{"soon", "lots", "deafening", "do-not-print-me"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error echoes the value %q:\n%v", v, err)
		}
	}
}

// TestConfigLogShowsDurations: the start-up log shows durations as Go durations (60s
// is 1m0s), not nanoseconds, keyed by variable, with the secret redacted.
func TestConfigLogShowsDurations(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(context.Background(), func(k string) string {
		return map[string]string{"JWT_SECRET": "do-not-print-me", "REDIS_PASSWORD": "nor-me"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("stream service configured", "config", c)
	out := buf.String()
	for _, want := range []string{`"TICKET_TTL":"1m0s"`, `"HEARTBEAT_INTERVAL":"15s"`, `"MAX_CONN_AGE":"55m0s"`,
		`"DRAIN_TIME":"3s"`, `"JWT_SECRET":"[redacted]"`, `"REDIS_PASSWORD":"[redacted]"`, `"PORT":"8080"`} {
		if !strings.Contains(out, want) {
			t.Errorf("config log lacks %s:\n%s", want, out)
		}
	}
	for _, leak := range []string{"do-not-print-me", "nor-me", "60000000000", "15000000000"} {
		if strings.Contains(out, leak) {
			t.Errorf("config log shows %s:\n%s", leak, out)
		}
	}
}
