package redisbroker

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// publishScript stores and publishes one notification atomically. The shebang makes
// Redis refuse the whole script up front when it is out of memory, and the log entry is
// written before the dedupe marker: a marker never exists without its entry, so a failed
// attempt is always retried in full.
//
// The log is trimmed with XDEL rather than MAXLEN/XTRIM because only XDEL advances the
// stream's max-deleted-entry-id, which is what tells a resuming client whether anything
// after its last ID is gone. Usually 0 or 1 entries are removed per call; the age
// trim is bounded per call so one publish never does unbounded work.
//
// The user's read state (read.go) lives as long as the log: its TTL is renewed with the
// log's (PEXPIRE of a key that does not exist does nothing).
//
// KEYS: 1 dedupe marker, 2 log, 3 read ids, 4 read up to. ARGV: 1 body (JSON object
// without id), 2 max length, 3 retention ms, 4 dedupe TTL ms, 5 channel, 6 what the
// notification's id starts with (broker.ItemPrefix: empty for a user's own log).
// Returns {1, first id} for a duplicate, {0, new id} otherwise.
var publishScript = redis.NewScript(`#!lua
local seen = redis.call('GET', KEYS[1])
if seen then
  return {1, seen}
end
local id = redis.call('XADD', KEYS[2], '*', 'n', ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minid = string.format('%.0f', now - tonumber(ARGV[3])) .. '-0'
local old = redis.call('XRANGE', KEYS[2], '-', '(' .. minid, 'COUNT', 100)
local excess = redis.call('XLEN', KEYS[2]) - tonumber(ARGV[2])
if excess > #old then
  old = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)
end
if #old > 0 then
  local ids = {}
  for i, e in ipairs(old) do ids[i] = e[1] end
  redis.call('XDEL', KEYS[2], unpack(ids))
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
redis.call('SET', KEYS[1], id, 'PX', ARGV[4])
redis.call('PUBLISH', ARGV[5], '{"id":"' .. ARGV[6] .. id .. '",' .. string.sub(ARGV[1], 2))
return {0, id}
`)

// Publish stores n in userID's log (any source: a user's, a group's, Everyone's) and
// publishes it, unless messageID was already stored there. It returns the
// notification's ID (the first one's, for a duplicate). An error means nothing was
// stored: the caller may retry.
func (b *Broker) Publish(ctx context.Context, userID, messageID string, n notification.Notification) (string, bool, error) {
	body, err := n.Body()
	if err != nil {
		return "", false, fmt.Errorf("encode notification: %w", err)
	}
	res, err := publishScript.Run(ctx, b.rdb,
		[]string{b.names.Seen(userID, messageID), b.names.Log(userID), b.names.ReadIDs(userID), b.names.ReadUpTo(userID)},
		body, b.limits.MaxLen, b.limits.Retention.Milliseconds(), b.limits.DedupeTTL.Milliseconds(), b.names.Channel(userID),
		broker.ItemPrefix(userID),
	).Slice()
	if err != nil {
		return "", false, fmt.Errorf("publish script for %s: %w", b.names.Log(userID), err)
	}
	if len(res) != 2 {
		return "", false, fmt.Errorf("publish script: unexpected reply %v", res)
	}
	dup, _ := res[0].(int64)
	id, _ := res[1].(string)
	id = broker.ItemPrefix(userID) + id
	if dup == 0 && b.opts.EnqueuePush && broker.IsUserSource(userID) {
		// Not inside the script: the queue is one key for all users, in another
		// cluster slot than the user's keys. A failure here loses only the push (the
		// notification is stored, and a retry would be deduplicated), so it is
		// logged, not returned.
		if _, err := EnqueuePush(ctx, b.rdb, b.names.PushQueue(), userID, notification.WithID(id, body)); err != nil && b.opts.Log != nil {
			b.opts.Log.WarnContext(ctx, "web push not queued", logging.KeyUserID, userID, logging.KeyError, err.Error())
		}
	}
	return id, dup == 1, nil
}

// EnqueuePush adds one notification (its SSE data JSON) for user to the Web Push
// queue: XADD <queue> MAXLEN ~ 100000 * user <user_id> n <data>.
func EnqueuePush(ctx context.Context, rdb redis.Cmdable, queue, user string, data []byte) (string, error) {
	id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: queue, MaxLen: rediskey.PushQueueMaxLen, Approx: true,
		Values: []any{rediskey.PushFieldUser, user, rediskey.PushFieldNotification, data}}).Result()
	if err != nil {
		return "", fmt.Errorf("xadd %s: %w", queue, err)
	}
	return id, nil
}
