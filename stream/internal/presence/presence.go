// Package presence records which user has how many open streams on which instance, in
// storage all instances share, and enforces the global per-user connection cap with it.
// Entries expire unless refreshed, so an instance that dies leaves nothing behind.
package presence

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// TTL is how long an entry lives without a refresh; instances refresh every TTL/3.
const TTL = 30 * time.Second

// acquireScript: KEYS[1] the user's set. ARGV: member, now ms, expiry ms, cap.
// Drops expired members, then admits member if the user is under the cap.
var acquireScript = redis.NewScript(`#!lua
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) - tonumber(ARGV[2]))
return 1
`)

// Redis is presence kept in Redis. Safe for concurrent use.
type Redis struct {
	rdb   *redis.Client
	names rediskey.Names
	now   func() time.Time
}

// NewRedis returns presence over rdb.
func NewRedis(rdb *redis.Client, names rediskey.Names, now func() time.Time) *Redis {
	return &Redis{rdb: rdb, names: names, now: now}
}

// Acquire records conn (unique across instances) for user unless the user already has
// limit live connections; it reports whether it was admitted.
func (p *Redis) Acquire(ctx context.Context, user, conn string, limit int) (bool, error) {
	now := p.now()
	ok, err := acquireScript.Run(ctx, p.rdb, []string{p.names.Presence(user)},
		conn, now.UnixMilli(), now.Add(TTL).UnixMilli(), limit).Int()
	if err != nil {
		return false, fmt.Errorf("presence acquire: %w", err)
	}
	return ok == 1, nil
}

// Release forgets conn.
func (p *Redis) Release(ctx context.Context, user, conn string) error {
	return p.rdb.ZRem(ctx, p.names.Presence(user), conn).Err()
}

// Refresh extends the life of every listed connection (conn → user).
func (p *Redis) Refresh(ctx context.Context, conns map[string]string) error {
	if len(conns) == 0 {
		return nil
	}
	exp := float64(p.now().Add(TTL).UnixMilli())
	_, err := p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for conn, user := range conns {
			key := p.names.Presence(user)
			pl.ZAddXX(ctx, key, redis.Z{Score: exp, Member: conn})
			pl.PExpire(ctx, key, TTL)
		}
		return nil
	})
	return err
}

// Count returns how many live connections user has, on all instances.
func (p *Redis) Count(ctx context.Context, user string) (int, error) {
	n, err := p.rdb.ZCount(ctx, p.names.Presence(user), fmt.Sprint(p.now().UnixMilli()), "+inf").Result()
	return int(n), err
}

// Memory is presence inside one process (for `make run` and unit tests).
type Memory struct {
	now   func() time.Time
	mu    sync.Mutex
	users map[string]map[string]time.Time // user → conn → expiry
}

// NewMemory returns empty presence.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, users: map[string]map[string]time.Time{}}
}

// Acquire implements the same rule as Redis.Acquire.
func (p *Memory) Acquire(_ context.Context, user, conn string, limit int) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	set := p.users[user]
	if set == nil {
		set = map[string]time.Time{}
		p.users[user] = set
	}
	for c, exp := range set {
		if !now.Before(exp) {
			delete(set, c)
		}
	}
	if _, ok := set[conn]; !ok && len(set) >= limit {
		return false, nil
	}
	set[conn] = now.Add(TTL)
	return true, nil
}

// Release forgets conn.
func (p *Memory) Release(_ context.Context, user, conn string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.users[user], conn)
	if len(p.users[user]) == 0 {
		delete(p.users, user)
	}
	return nil
}

// Refresh extends the life of every listed connection that is still recorded.
func (p *Memory) Refresh(_ context.Context, conns map[string]string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	exp := p.now().Add(TTL)
	for conn, user := range conns {
		if _, ok := p.users[user][conn]; ok {
			p.users[user][conn] = exp
		}
	}
	return nil
}

// Count returns how many live connections user has.
func (p *Memory) Count(_ context.Context, user string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, exp := range p.users[user] {
		if p.now().Before(exp) {
			n++
		}
	}
	return n, nil
}
