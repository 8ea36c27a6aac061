// Package audience fans a group's or everyone's notification out to its members' push
// queue entries: the members come from redisbroker.Members (who belongs to which
// group, as tokens last showed it).
package audience

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// FanoutOptions tune a Fanout; zero values get the defaults shown.
type FanoutOptions struct {
	Rate  float64       // users queued per second per instance (PUSH_FANOUT_RATE): 1000
	Lease time.Duration // a job whose instance stopped renewing is taken over after: 10s
	Tick  time.Duration // how often an idle instance looks for jobs: 500ms
	Log   *slog.Logger
	Now   func() time.Time
}

// Fanout turns a group's or everyone's notification into one push queue entry per
// member, paced, resumable and at most once per member:
//
//   - Start records a job (hash: source, n, cursor) and lists it in Fanouts, scored by
//     when its lease ends (0: free). It is idempotent per queue entry id, so a
//     re-handled entry starts nothing twice.
//   - Every instance's Run claims a free or expired job, then walks the members in user
//     id order (Members.Batch), waiting on a rate limiter per batch, and queues each
//     batch with one script on {push} that also advances the job's cursor and renews
//     the lease — only if the cursor is still the one the batch was read after. An
//     instance that dies leaves its lease to expire; the next one resumes from the
//     cursor, and a stale instance's batch is refused by the cursor check, so no member
//     is queued twice.
//
// Each member's entry is then handled like a user's own notification (presence,
// preferences, coalescing, at least once: a crash between a send and its
// acknowledgement repeats that push).
type Fanout struct {
	rdb     redis.UniversalClient
	names   rediskey.Names
	members *redisbroker.Members
	opts    FanoutOptions
	queued  atomic.Uint64
}

// NewFanout returns a Fanout writing to names.PushQueue().
func NewFanout(rdb redis.UniversalClient, names rediskey.Names, members *redisbroker.Members, opts FanoutOptions) *Fanout {
	if opts.Rate <= 0 {
		opts.Rate = 1000
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Second
	}
	if opts.Tick <= 0 {
		opts.Tick = 500 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Fanout{rdb: rdb, names: names, members: members, opts: opts}
}

// Queued is how many member entries this instance has queued.
func (f *Fanout) Queued() uint64 { return f.queued.Load() }

// startScript: KEYS job, fanouts. ARGV id, source, n.
var startScript = redis.NewScript(`#!lua
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'source', ARGV[2], 'n', ARGV[3], 'cursor', '')
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`)

// Start records the fan-out of data (the SSE data JSON) to source's members for the
// push queue entry id.
func (f *Fanout) Start(ctx context.Context, id, source string, data []byte) error {
	err := startScript.Run(ctx, f.rdb, []string{f.names.FanoutJob(id), f.names.Fanouts()}, id, source, data).Err()
	if err != nil {
		return fmt.Errorf("start fan-out: %w", err)
	}
	return nil
}

// claimScript: KEYS fanouts. ARGV now, lease end. Takes the first job whose lease has
// ended, leases it and returns its id (nil when none).
var claimScript = redis.NewScript(`#!lua
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, 1)
if #ids == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], ids[1])
return ids[1]
`)

// expandScript: KEYS job, fanouts, queue. ARGV id, cursor read after, next cursor ("" when
// done), lease end, then the users. Returns 1, or 0 when another instance moved the
// cursor (this one lost the job).
var expandScript = redis.NewScript(`#!lua
if redis.call('HGET', KEYS[1], 'cursor') ~= ARGV[2] or redis.call('HEXISTS', KEYS[1], 'done') == 1 then return 0 end
local n = redis.call('HGET', KEYS[1], 'n')
for i = 5, #ARGV do
  redis.call('XADD', KEYS[3], '*', 'user', ARGV[i], 'n', n)
end
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'done', 1)
  redis.call('HDEL', KEYS[1], 'n')
  redis.call('PEXPIRE', KEYS[1], 86400000)
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[1], 'cursor', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
return 1
`)

// errLost: another instance took the job over (this one was too slow to renew).
var errLost = errors.New("fan-out job taken over")

// Run claims jobs and fans them out until ctx ends. Redis failures are logged and the
// job is left to its lease (this or another instance resumes it).
func (f *Fanout) Run(ctx context.Context) {
	tick := time.NewTicker(f.opts.Tick)
	defer tick.Stop()
	burst := max(1, min(500, int(f.opts.Rate/10)))
	lim := rate.NewLimiter(rate.Limit(f.opts.Rate), burst)
	for {
		id, err := claimScript.Run(ctx, f.rdb, []string{f.names.Fanouts()}, f.now(), f.leaseEnd()).Text()
		switch {
		case err == nil:
			if err := f.work(ctx, lim, burst, id); err != nil && ctx.Err() == nil {
				f.opts.Log.WarnContext(ctx, "fan-out", slog.String("job", id), slog.Any("error", err))
			}
			continue // look for another job at once
		case !errors.Is(err, redis.Nil) && ctx.Err() == nil:
			f.opts.Log.WarnContext(ctx, "claim fan-out", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (f *Fanout) now() int64      { return f.opts.Now().UnixMilli() }
func (f *Fanout) leaseEnd() int64 { return f.opts.Now().Add(f.opts.Lease).UnixMilli() }

// work fans job id out batch by batch, paced by lim, until done, lost or ctx ends.
func (f *Fanout) work(ctx context.Context, lim *rate.Limiter, batch int, id string) error {
	key := f.names.FanoutJob(id)
	job, err := f.rdb.HMGet(ctx, key, "source", "cursor").Result()
	if err != nil {
		return err
	}
	source, _ := job[0].(string)
	cursor, _ := job[1].(string)
	if source == "" {
		return f.rdb.ZRem(ctx, f.names.Fanouts(), id).Err() // a job without its hash: forget it
	}
	for {
		users, next, err := f.members.Batch(ctx, source, cursor, batch)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			if err := lim.WaitN(ctx, len(users)); err != nil {
				return err // ctx ended: the lease expires and someone resumes
			}
		}
		args := make([]any, 0, 4+len(users))
		args = append(args, id, cursor, next, f.leaseEnd())
		for _, u := range users {
			args = append(args, u)
		}
		ok, err := expandScript.Run(ctx, f.rdb, []string{key, f.names.Fanouts(), f.names.PushQueue()}, args...).Int()
		if err != nil {
			return err
		}
		if ok == 0 {
			return errLost
		}
		f.queued.Add(uint64(len(users)))
		if next == "" {
			return nil
		}
		cursor = next
	}
}
