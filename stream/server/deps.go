package server

import (
	"context"
	"time"

	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// jwksRefresh is the fastest an unknown kid may trigger a JWKS refetch.
const jwksRefresh = 30 * time.Second

// RedisDeps are the production collaborators: everything shared through Redis, so any
// instance can redeem any ticket and the per-user cap holds across instances.
func RedisDeps(ctx context.Context, cfg Config, b *redisbroker.Broker) (Deps, error) {
	names := rediskey.Names{Prefix: string(cfg.Redis.KeyPrefix)}
	d := Deps{Broker: b, Tickets: ticket.NewRedisStore(b.Client(), names), Presence: presence.NewRedis(b.Client(), names, time.Now)}
	return d, d.withJWKS(ctx, cfg)
}

// MemoryDeps keep tickets and presence in this process (the local single-process system).
func MemoryDeps(ctx context.Context, cfg Config, b Broker) (Deps, error) {
	d := Deps{Broker: b, Tickets: ticket.NewMemoryStore(time.Now), Presence: presence.NewMemory(time.Now)}
	return d, d.withJWKS(ctx, cfg)
}

func (d *Deps) withJWKS(ctx context.Context, cfg Config) error {
	if cfg.JWTJWKSURL == "" {
		return nil
	}
	k, err := auth.NewJWKS(ctx, cfg.JWTJWKSURL, jwksRefresh)
	d.JWKS = k
	return err
}
