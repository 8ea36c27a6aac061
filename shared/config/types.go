package config

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

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
	// Mode is standalone (one Redis, Memorystore for Redis) or cluster (Memorystore for
	// Redis Cluster, or any Redis Cluster): docs/CLUSTER.md.
	Mode Mode `env:"MODE, default=standalone"`
	// Addr is host:port (in cluster mode a comma-separated list of seed nodes); empty
	// means "no Redis" where a binary has an alternative.
	Addr     string `env:"ADDR"`
	Password Secret `env:"PASSWORD"`
	// IAMAuth authenticates each connection with an OAuth access token of the
	// service account (Application Default Credentials) instead of Password:
	// Memorystore for Redis Cluster's IAM authentication (roles/redis.dbConnectionUser).
	IAMAuth bool `env:"IAM_AUTH"`
	// TLSCA is the path of a PEM file with the server's CA certificates; it turns TLS on.
	TLSCA string `env:"TLS_CA"`
	// KeyPrefix starts every key and channel name, so environments can share a Redis.
	KeyPrefix KeyPrefix `env:"KEY_PREFIX, default=notifications"`
	// ReplicaAcks is how many replicas must hold a notification before the function
	// acknowledges it (Redis WAIT); 0 never waits. docs/RELIABILITY.md "Durability through a
	// Redis failover".
	ReplicaAcks ReplicaAcks `env:"REPLICA_ACKS, default=1"`
	// ReplicaAckTimeout bounds that wait; past it the function answers 5xx.
	ReplicaAckTimeout AckTimeout `env:"REPLICA_ACK_TIMEOUT, default=1s"`
}

// Mode is how Redis is deployed: ModeStandalone or ModeCluster.
type Mode string

// The Redis modes REDIS_MODE names.
const (
	ModeStandalone Mode = "standalone"
	ModeCluster    Mode = "cluster"
)

// EnvDecode implements envconfig.Decoder.
func (m *Mode) EnvDecode(v string) error {
	switch Mode(v) {
	case ModeStandalone, ModeCluster:
		*m = Mode(v)
		return nil
	}
	return errors.New("must be standalone or cluster")
}

// Addrs is Addr as a list: the seed nodes of a cluster, or the one server. A list of
// more than one address is refused in standalone mode, where it would be a mistake
// (the client would dial the whole text as one address).
func (r Redis) Addrs() ([]string, error) {
	var out []string
	for a := range strings.SplitSeq(r.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	switch {
	case len(out) == 0:
		return nil, errors.New("config: REDIS_ADDR is required")
	case len(out) > 1 && r.Mode != ModeCluster:
		return nil, errors.New("config: REDIS_ADDR lists several addresses: set REDIS_MODE=cluster for a Redis Cluster")
	}
	return out, nil
}

// ReplicaAcks is a replica count, 0 to 5: Memorystore for Redis has at most 5 read
// replicas, and a count no primary can have would turn every write into a 5xx.
type ReplicaAcks int

// EnvDecode implements envconfig.Decoder.
func (n *ReplicaAcks) EnvDecode(v string) error {
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i > 5 {
		return errors.New("must be a whole number from 0 to 5")
	}
	*n = ReplicaAcks(i)
	return nil
}

// AckTimeout is how long to wait for replicas: whole milliseconds (WAIT's unit), from
// 10ms (less is below one cross-zone round trip) to 10s (Pub/Sub's shortest ack
// deadline: waiting longer would only get the message redelivered meanwhile).
type AckTimeout time.Duration

// EnvDecode implements envconfig.Decoder.
func (t *AckTimeout) EnvDecode(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 10*time.Millisecond || d > 10*time.Second || d%time.Millisecond != 0 {
		return errors.New("must be a duration in whole milliseconds from 10ms to 10s, such as 1s")
	}
	*t = AckTimeout(d)
	return nil
}

// String implements fmt.Stringer (and makes the logged configuration readable).
func (t AckTimeout) String() string { return time.Duration(t).String() }

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
		return errors.New("must be one of debug, info, warn, error")
	}
	return nil
}

// String spells the level as LOG_LEVEL does (debug, info, warn, error).
func (l Level) String() string { return strings.ToLower(slog.Level(l).String()) }
