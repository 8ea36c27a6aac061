package webpush

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Quiet hours (docs/PROTOCOL.md "Preferences"). A push that falls in the user's quiet
// hours is held: counted in a hash under the user's own hash tag (rediskey.QuietHeld),
// and the user is put in a sorted set scored by when the window ends
// (rediskey.QuietDue). Every Worker polls that set each Tick; claiming a due user
// moves its score to now+quietLease in one script, so exactly one instance summarises
// a user, and one that dies mid-way leaves the user to be claimed again once the
// lease runs out. The held hash and the due set have different tags, so no script
// touches both: holding writes the hash first, then the set (a retry of a held entry
// adds it to the set again, counted once thanks to the per-id field), and releasing
// clears the hash only of what it summarised, then the set only if the lease is
// still its own.

// quietLease is how long a claimed user is left to its claimer: longer than a summary
// takes to send (RetryFor bounds the retries; most finish within a second). A claimer
// that is still sending when it runs out sends a second summary at worst.
const quietLease = 30 * time.Second

// quietKeep is how long held pushes outlive the end of their window when nobody
// summarises them (every instance down): a day later they are stale.
const quietKeep = 24 * time.Hour

// quietUntil reports whether now is in the quiet hours and when they end.
func (p PushPrefs) quietUntil(now time.Time) (bool, time.Time) {
	if p.Quiet == nil {
		return false, time.Time{}
	}
	return p.Quiet.Active(now)
}

// holdScript: KEYS held. ARGV id, now ms, end ms, ttl ms. Counts id once.
var holdScript = redis.NewScript(`#!lua
if redis.call('HSETNX', KEYS[1], 'i:' .. ARGV[1], 1) == 1 then
  redis.call('HINCRBY', KEYS[1], 'n', 1)
  redis.call('HSET', KEYS[1], 'id', ARGV[1])
end
redis.call('HSETNX', KEYS[1], 'start', ARGV[2])
redis.call('HSET', KEYS[1], 'end', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// hold records a push held until end (the end of the user's quiet hours).
func (w *Worker) hold(ctx context.Context, user, id string, now, end time.Time) error {
	held := w.opts.Names.QuietHeld(user)
	ttl := end.Sub(now) + quietKeep
	if err := holdScript.Run(ctx, w.rdb, []string{held}, id, now.UnixMilli(), end.UnixMilli(), ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("hold %s: %w", held, err)
	}
	if err := w.rdb.ZAdd(ctx, w.opts.Names.QuietDue(), redis.Z{Score: float64(end.UnixMilli()), Member: user}).Err(); err != nil {
		return fmt.Errorf("zadd %s: %w", w.opts.Names.QuietDue(), err)
	}
	return nil
}

// claimQuietScript: KEYS due. ARGV now ms, lease ms, count. Leases up to count due
// users to the caller and returns them.
var claimQuietScript = redis.NewScript(`#!lua
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local lease = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, u in ipairs(users) do redis.call('ZADD', KEYS[1], 'XX', lease, u) end
return users
`)

// takeHeldScript: KEYS held. ARGV n (the count summarised). Forgets what was
// summarised; what was held since stays. Returns the end of the remaining window, or
// 0 when nothing remains.
var takeHeldScript = redis.NewScript(`#!lua
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HINCRBY', KEYS[1], 'n', -tonumber(ARGV[1]))
return tonumber(redis.call('HGET', KEYS[1], 'end') or '1')
`)

// unleaseScript: KEYS due. ARGV user, lease ms, next ms (0: remove). Acts only while
// the user's score is still the lease the caller took.
var unleaseScript = redis.NewScript(`#!lua
if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '-1') ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '0' then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
`)

// flushQuiet claims the users whose quiet hours have ended and summarises each one's
// held pushes, sending on handlers (a send may be retried for RetryFor).
func (w *Worker) flushQuiet(ctx, hctx context.Context, handlers *sync.WaitGroup, now time.Time) error {
	users, err := claimQuietScript.Run(ctx, w.rdb, []string{w.opts.Names.QuietDue()},
		now.UnixMilli(), quietLease.Milliseconds(), 100).StringSlice()
	if err != nil {
		return fmt.Errorf("claim quiet hours summaries: %w", err)
	}
	lease := now.Add(quietLease).UnixMilli()
	for _, user := range users {
		handlers.Go(func() { w.releaseQuiet(ctx, hctx, user, lease) })
	}
	return nil
}

// releaseQuiet sends user one summary of the pushes held in their quiet hours, unless
// they have an open stream now (they see everything in the app) or turned push off.
// A failure leaves the user leased: another claim retries after quietLease.
func (w *Worker) releaseQuiet(ctx, hctx context.Context, user string, lease int64) {
	log := w.log.With(slog.String("user_id", user))
	held, err := w.rdb.HMGet(hctx, w.opts.Names.QuietHeld(user), "n", "id", "start", "end").Result()
	if err != nil {
		log.Warn("push: read held pushes", slog.Any("error", err))
		return
	}
	num := func(v any) int64 { s, _ := v.(string); n, _ := strconv.ParseInt(s, 10, 64); return n }
	count, lastID, start, end := num(held[0]), "", num(held[2]), num(held[3])
	lastID, _ = held[1].(string)
	now := w.opts.Now()
	if count > 0 && end > now.UnixMilli() { // the window was moved on since the claim
		w.unlease(hctx, log, user, lease, end)
		return
	}
	if count > 0 {
		if !w.sendQuietSummary(ctx, hctx, log, user, int(count), lastID, start, now) {
			return
		}
	}
	next, err := takeHeldScript.Run(hctx, w.rdb, []string{w.opts.Names.QuietHeld(user)}, count).Int64()
	if err != nil {
		log.Warn("push: clear held pushes", slog.Any("error", err))
		return
	}
	w.unlease(hctx, log, user, lease, next)
}

// sendQuietSummary sends the summary and reports whether the held pushes are done
// with (sent, or not to be sent); false leaves them for a retry.
func (w *Worker) sendQuietSummary(ctx, hctx context.Context, log *slog.Logger, user string, count int, lastID string, start int64, now time.Time) bool {
	if online, err := w.presence.Online(hctx, user); err != nil {
		log.Warn("push: presence", slog.Any("error", err))
		return false
	} else if online {
		w.stats.online.Add(1)
		return true
	}
	prefs, err := w.prefs.PushPrefs(hctx, user)
	if err != nil {
		log.Warn("push: preferences", slog.Any("error", err))
		return false
	}
	if prefs.Off {
		w.stats.prefs.Add(1)
		return true
	}
	var subs []Subscription
	if w.store != nil {
		if subs, err = w.store.List(hctx, user); err != nil {
			log.Warn("push: subscriptions", slog.Any("error", err))
			return false
		}
	}
	devices, err := w.hasDevices(hctx, user)
	if err != nil {
		log.Warn("push: devices", slog.Any("error", err))
		return false
	}
	if len(subs) == 0 && !devices {
		w.stats.noSubs.Add(1)
		return true
	}
	// One summary for both senders, as a coalescing window's (deliver.go): the apps get
	// theirs on the FCM queue.
	msg := Message{Payload: summaryPayload(count, lastID, now), Urgency: UrgencyNormal,
		Topic: topicFor(w.opts.CollapseKey, user, start), TTL: w.opts.TTL}
	if devices {
		if err := w.handOff(hctx, user, msg); err != nil {
			log.Warn("push: hand off to fcm", slog.Any("error", err))
			return false
		}
		w.stats.handedOff.Add(1)
	}
	if len(subs) > 0 && !w.deliver(ctx, hctx, job{user: user, log: log, subs: subs, msg: msg}) {
		return false
	}
	w.stats.quietSummary.Add(1)
	return true
}

// unlease gives up the lease on user: removes them from the due set, or (next > 0)
// puts them back for the window that ends at next.
func (w *Worker) unlease(ctx context.Context, log *slog.Logger, user string, lease, next int64) {
	if err := unleaseScript.Run(ctx, w.rdb, []string{w.opts.Names.QuietDue()}, user, lease, next).Err(); err != nil {
		log.Warn("push: quiet hours due set", slog.Any("error", err))
	}
}
