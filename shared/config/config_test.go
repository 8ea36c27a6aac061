package config

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Port      string        `env:"PORT, default=8080"`
	Heartbeat time.Duration `env:"HEARTBEAT_INTERVAL, default=15s"`
	Redis     Redis         `env:", prefix=REDIS_"`
	Logging   Logging
	Secret    Secret `env:"JWT_SECRET, required"`
}

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	t.Parallel()
	var c sample
	err := Load(context.Background(), env(map[string]string{
		"JWT_SECRET": "s3cret", "REDIS_ADDR": "127.0.0.1:6379", "LOG_LEVEL": "DEBUG", "PORT": "",
		"HEARTBEAT_INTERVAL": "2s",
	}), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != "8080" || c.Heartbeat != 2*time.Second || c.Redis.Addr != "127.0.0.1:6379" ||
		c.Redis.KeyPrefix != "notifications" || c.Redis.ReplicaAcks != 1 ||
		c.Redis.ReplicaAckTimeout != AckTimeout(time.Second) || c.Logging.Level.Level() != slog.LevelDebug || c.Secret != "s3cret" {
		t.Errorf("got %+v", c)
	}
	if s := fmt.Sprint(c.Secret); strings.Contains(s, "s3cret") {
		t.Errorf("secret printed as %q", s)
	}
	if v := c.Secret.LogValue().String(); strings.Contains(v, "s3cret") {
		t.Errorf("secret logged as %q", v)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("configured", "config", slog.AnyValue(c))
	if strings.Contains(buf.String(), "s3cret") || !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("whole config logged as %s", buf.String())
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"missing required", map[string]string{}, "JWT_SECRET"},
		{"empty counts as unset", map[string]string{"JWT_SECRET": ""}, "JWT_SECRET"},
		{"bad duration", map[string]string{"JWT_SECRET": "x", "HEARTBEAT_INTERVAL": "soon"}, "HEARTBEAT_INTERVAL"},
		{"bad level", map[string]string{"JWT_SECRET": "x", "LOG_LEVEL": "verbose"}, "LOG_LEVEL"},
		{"bad prefix", map[string]string{"JWT_SECRET": "x", "REDIS_KEY_PREFIX": "a{b}"}, "REDIS_KEY_PREFIX"},
		{"bad mode", map[string]string{"JWT_SECRET": "x", "REDIS_MODE": "sentinel"}, "REDIS_MODE"},
		{"negative acks", map[string]string{"JWT_SECRET": "x", "REDIS_REPLICA_ACKS": "-1"}, "REDIS_REPLICA_ACKS"},
		{"too many acks", map[string]string{"JWT_SECRET": "x", "REDIS_REPLICA_ACKS": "6"}, "REDIS_REPLICA_ACKS"},
		{"ack timeout too short", map[string]string{"JWT_SECRET": "x", "REDIS_REPLICA_ACK_TIMEOUT": "1ms"}, "REDIS_REPLICA_ACK_TIMEOUT"},
		{"ack timeout too long", map[string]string{"JWT_SECRET": "x", "REDIS_REPLICA_ACK_TIMEOUT": "11s"}, "REDIS_REPLICA_ACK_TIMEOUT"},
		{"ack timeout not in ms", map[string]string{"JWT_SECRET": "x", "REDIS_REPLICA_ACK_TIMEOUT": "1500us"}, "REDIS_REPLICA_ACK_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c sample
			err := Load(context.Background(), env(tc.env), &c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load() = %v, want an error naming %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "Heartbeat:") || strings.Contains(err.Error(), "Logging:") {
				t.Errorf("error names Go fields: %v", err)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "WARNING": slog.LevelWarn, "error": slog.LevelError} {
		var l Level
		if err := l.EnvDecode(in); err != nil || l.Level() != want {
			t.Errorf("%s: %v %v", in, l, err)
		}
	}
}

func TestReplicaSettings(t *testing.T) {
	t.Parallel()
	var c sample
	err := Load(context.Background(), env(map[string]string{"JWT_SECRET": "x",
		"REDIS_REPLICA_ACKS": "0", "REDIS_REPLICA_ACK_TIMEOUT": "250ms"}), &c)
	if err != nil || c.Redis.ReplicaAcks != 0 || time.Duration(c.Redis.ReplicaAckTimeout) != 250*time.Millisecond {
		t.Fatalf("got %+v, %v; want 0 acks and 250ms", c.Redis, err)
	}
	if s := c.Redis.ReplicaAckTimeout.String(); s != "250ms" {
		t.Errorf("timeout prints as %q", s)
	}
}

func TestRedisAddrs(t *testing.T) {
	for _, tc := range []struct {
		mode    Mode
		addr    string
		want    []string
		wantErr string
	}{
		{ModeStandalone, "10.0.0.3:6379", []string{"10.0.0.3:6379"}, ""},
		{ModeCluster, "a:1, b:2,,c:3", []string{"a:1", "b:2", "c:3"}, ""},
		{ModeStandalone, "a:1,b:2", nil, "REDIS_MODE=cluster"},
		{ModeCluster, " , ", nil, "REDIS_ADDR is required"},
	} {
		got, err := Redis{Mode: tc.mode, Addr: tc.addr}.Addrs()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %q: error %v, want one naming %q", tc.mode, tc.addr, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s %q = %v, %v; want %v", tc.mode, tc.addr, got, err, tc.want)
		}
	}
}
