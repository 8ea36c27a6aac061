package presence

import (
	"context"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Redis is presence kept in Redis. Safe for concurrent use.
type Redis struct {
	rdb   redis.UniversalClient
	names rediskey.Names
	now   func() time.Time
	round atomic.Uint64 // Refresh calls, for the key sweep
	seed  maphash.Seed

	snapMu sync.Mutex
	snap   map[string]int64 // instance → lease expiry in unix ms, read at snapAt
	snapAt time.Time
}

// NewRedis returns presence over rdb.
func NewRedis(rdb redis.UniversalClient, names rediskey.Names, now func() time.Time) *Redis {
	return &Redis{rdb: rdb, names: names, now: now, seed: maphash.MakeSeed()}
}

// acquireScript: KEYS[1] the user's set. ARGV: member, now ms, its expiry ms, cap,
// key TTL ms, then members found gone (past their expiry, their instance without a
// lease). Removes those that are still past their expiry, then admits member if the
// user is under the cap.
var acquireScript = redis.NewScript(`#!lua
local now = tonumber(ARGV[2])
for i = 6, #ARGV do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) <= now then
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`)

// Acquire records conn ("<instance>/<seq>", unique across instances) for user unless
// the user already has limit live connections; it reports whether it was admitted.
func (p *Redis) Acquire(ctx context.Context, user, conn string, limit int) (bool, error) {
	key := p.names.Presence(user)
	now := p.now()
	_, gone, err := p.sort(ctx, key, now)
	if err != nil {
		return false, fmt.Errorf("presence acquire: %w", err)
	}
	args := make([]any, 0, 5+len(gone))
	args = append(args, conn, now.UnixMilli(), now.Add(TTL).UnixMilli(), limit, KeyTTL.Milliseconds())
	for _, m := range gone {
		args = append(args, m)
	}
	ok, err := acquireScript.Run(ctx, p.rdb, []string{key}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("presence acquire: %w", err)
	}
	return ok == 1, nil
}

// sort reads user's entries (key) and returns how many are live at now and the names
// of those that are gone: past their own expiry, and their instance holds no lease.
func (p *Redis) sort(ctx context.Context, key string, now time.Time) (live int, gone []string, err error) {
	entries, err := p.rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil {
		return 0, nil, err
	}
	var leases map[string]int64
	for _, e := range entries {
		if int64(e.Score) > now.UnixMilli() {
			live++
			continue
		}
		if leases == nil {
			if leases, err = p.leases(ctx, now); err != nil {
				return 0, nil, err
			}
		}
		m, _ := e.Member.(string)
		if leases[instanceOf(m)] > now.UnixMilli() {
			live++
		} else {
			gone = append(gone, m)
		}
	}
	return live, gone, nil
}

// leaseAge bounds the age of the lease snapshot Acquire and Count judge entries by.
// A snapshot that old is exact for a dead instance (its lease no longer moves) and
// never wrong about a live one: a live instance's lease is renewed TTL ahead every
// TTL/3, so it always has more than TTL*2/3 - leaseAge left at any moment the
// snapshot is used. An instance missing from the snapshot has no entry past its own
// TTL yet unless it is dead (it renews its lease within TTL/3 of its first entry).
const leaseAge = 5 * time.Second

// leases returns every instance's lease expiry in unix ms, from a snapshot at most
// leaseAge old: one read of the instances' key per leaseAge per process, whatever
// the number of Acquire and Count calls (Web Push counts once per notification).
func (p *Redis) leases(ctx context.Context, now time.Time) (map[string]int64, error) {
	p.snapMu.Lock()
	defer p.snapMu.Unlock()
	if p.snap != nil && !now.Before(p.snapAt) && now.Sub(p.snapAt) < leaseAge {
		return p.snap, nil
	}
	zs, err := p.rdb.ZRangeWithScores(ctx, p.names.PresenceInstances(), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	snap := make(map[string]int64, len(zs))
	for _, z := range zs {
		m, _ := z.Member.(string)
		snap[m] = int64(z.Score)
	}
	p.snap, p.snapAt = snap, now
	return snap, nil
}

// Release forgets conn.
func (p *Redis) Release(ctx context.Context, user, conn string) error {
	return p.rdb.ZRem(ctx, p.names.Presence(user), conn).Err()
}

// Refresh keeps the listed connections (conn → user) alive for TTL more. It renews the
// lease of their instances — one write for all of an instance's connections, listed or
// not — and extends the keys of the listed users whose turn in the sweep it is (one in
// KeySweep per call). An empty list renews nothing: an instance without connections
// needs no lease.
func (p *Redis) Refresh(ctx context.Context, conns map[string]string) error {
	if len(conns) == 0 {
		return nil
	}
	now := p.now()
	round := p.round.Add(1) % KeySweep
	instances := map[string]bool{}
	swept := map[string]bool{}
	for conn, user := range conns {
		instances[instanceOf(conn)] = true
		if maphash.String(p.seed, user)%KeySweep == round {
			swept[user] = true
		}
	}
	key := p.names.PresenceInstances()
	exp := float64(now.Add(TTL).UnixMilli())
	_, err := p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for inst := range instances {
			pl.ZAdd(ctx, key, redis.Z{Score: exp, Member: inst})
		}
		pl.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		pl.PExpire(ctx, key, KeyTTL)
		for user := range swept {
			pl.PExpire(ctx, p.names.Presence(user), KeyTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("presence refresh: %w", err)
	}
	return nil
}

// Count returns how many live connections user has, on all instances.
func (p *Redis) Count(ctx context.Context, user string) (int, error) {
	n, _, err := p.sort(ctx, p.names.Presence(user), p.now())
	if err != nil {
		return 0, fmt.Errorf("presence count: %w", err)
	}
	return n, nil
}
