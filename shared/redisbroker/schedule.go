package redisbroker

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Schedule is the Redis broker.Schedule: three keys under the hash tag {sched}
// (rediskey.ScheduleDue, ScheduleLease, ScheduleItems), each operation one script, so
// it runs unchanged on Redis Cluster. It takes any client (standalone or cluster).
type Schedule struct {
	rdb   redis.UniversalClient
	names rediskey.Names
}

var _ broker.Schedule = (*Schedule)(nil)

// NewSchedule returns the schedule stored under names.
func NewSchedule(rdb redis.UniversalClient, names rediskey.Names) *Schedule {
	return &Schedule{rdb: rdb, names: names}
}

func (s *Schedule) keys() []string {
	return []string{s.names.ScheduleDue(), s.names.ScheduleLease(), s.names.ScheduleItems()}
}

// putScript: KEYS due, lease, items. ARGV key, due ms, stored.
var putScript = redis.NewScript(`#!lua
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`)

// Put implements broker.Schedule.
func (s *Schedule) Put(ctx context.Context, item broker.Scheduled) error {
	stored, err := broker.EncodeScheduled(item)
	if err != nil {
		return err
	}
	if err := putScript.Run(ctx, s.rdb, s.keys(), item.Key, item.DueAt.UnixMilli(), stored).Err(); err != nil {
		return fmt.Errorf("schedule %s: %w", item.Key, err)
	}
	return nil
}

// cancelScript: KEYS due, lease, items. ARGV key. Returns 1 if the item existed.
var cancelScript = redis.NewScript(`#!lua
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[3], ARGV[1])
`)

// Cancel implements broker.Schedule.
func (s *Schedule) Cancel(ctx context.Context, key string) (bool, error) {
	n, err := cancelScript.Run(ctx, s.rdb, s.keys(), key).Int()
	if err != nil {
		return false, fmt.Errorf("cancel scheduled %s: %w", key, err)
	}
	return n == 1, nil
}

// claimScript: KEYS due, lease, items. ARGV now ms, lease until ms, max. Leases items
// whose lease lapsed, then due items, up to max; returns key, stored, key, stored…
// An item without a body (cancelled between steps of an older version) is dropped.
var claimScript = redis.NewScript(`#!lua
local now, max = ARGV[1], tonumber(ARGV[3])
local out = {}
local function take(key)
  local stored = redis.call('HGET', KEYS[3], key)
  redis.call('ZREM', KEYS[1], key)
  if stored then
    redis.call('ZADD', KEYS[2], ARGV[2], key)
    out[#out + 1] = key
    out[#out + 1] = stored
  else
    redis.call('ZREM', KEYS[2], key)
  end
end
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max)) do take(key) end
local left = max - #out / 2
if left > 0 then
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, left)) do take(key) end
end
return out
`)

// Claim implements broker.Schedule.
func (s *Schedule) Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]broker.Claimed, error) {
	res, err := claimScript.Run(ctx, s.rdb, s.keys(), now.UnixMilli(), now.Add(lease).UnixMilli(), max).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim scheduled: %w", err)
	}
	out := make([]broker.Claimed, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		c, err := broker.DecodeScheduled(res[i], res[i+1])
		if err != nil {
			// Not releasable, ever: drop it rather than claim it again and again.
			_ = s.Done(ctx, broker.Claimed{Scheduled: broker.Scheduled{Key: res[i]}, Stored: res[i+1]})
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// doneScript: KEYS due, lease, items. ARGV key, stored. Removes the item only if it
// is still what was claimed; a replacement stays (Put took it off the lease set).
var doneScript = redis.NewScript(`#!lua
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`)

// Done implements broker.Schedule.
func (s *Schedule) Done(ctx context.Context, c broker.Claimed) error {
	if err := doneScript.Run(ctx, s.rdb, s.keys(), c.Key, c.Stored).Err(); err != nil {
		return fmt.Errorf("release scheduled %s: %w", c.Key, err)
	}
	return nil
}

// Pending reports how many items are scheduled or being released (for tests and
// metrics).
func (s *Schedule) Pending(ctx context.Context) (int64, error) {
	n, err := s.rdb.HLen(ctx, s.names.ScheduleItems()).Result()
	if err != nil {
		return 0, fmt.Errorf("hlen %s: %w", s.names.ScheduleItems(), err)
	}
	return n, nil
}
