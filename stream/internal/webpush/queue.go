package webpush

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// The fields of a queue entry. The function writes FieldUser and FieldNotification;
// the Worker itself writes summaries (FieldUser, fieldSummary, fieldLastID, fieldTopic).
const (
	FieldUser         = rediskey.PushFieldUser
	FieldNotification = rediskey.PushFieldNotification
	fieldSummary      = "summary"
	fieldLastID       = "id"
	fieldTopic        = "topic"
)

// QueueMaxLen caps the queue (XADD MAXLEN ~); see rediskey.PushQueueMaxLen.
const QueueMaxLen = rediskey.PushQueueMaxLen

// Enqueue adds a notification for user to the push queue, as the function does after
// storing it (redisbroker.EnqueuePush): XADD <queue> MAXLEN ~ 100000 * user <user_id>
// n <SSE data JSON>.
func Enqueue(ctx context.Context, rdb redis.Cmdable, queue, user string, data []byte) (string, error) {
	return redisbroker.EnqueuePush(ctx, rdb, queue, user, data)
}

// entry is one parsed queue entry: a notification, or a window's summary.
type entry struct {
	id   string // stream entry ID
	user string
	data []byte // notification JSON; nil for a summary
	// summary fields
	count      int
	lastID     string
	topicStart int64
}

func parseEntry(m redis.XMessage) (entry, error) {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	e := entry{id: m.ID, user: str(FieldUser)}
	if !notification.ValidUserID(e.user) {
		return e, errors.New("queue entry: invalid user")
	}
	if n := str(FieldNotification); n != "" {
		e.data = []byte(n)
		return e, nil
	}
	count, err1 := strconv.Atoi(str(fieldSummary))
	start, err2 := strconv.ParseInt(str(fieldTopic), 10, 64)
	if err1 != nil || err2 != nil || count < 1 {
		return e, errors.New("queue entry: neither a notification nor a summary")
	}
	e.count, e.lastID, e.topicStart = count, str(fieldLastID), start
	return e, nil
}

// windowKey is a user's coalescing window: a hash {start, end, c (notifications
// counted), h (held back), id (newest counted)}, kept for two windows after its last
// use. dueKey is the sorted set of users whose window holds notifications, scored by
// the window's end. Both are named after the queue so they share its hash tag.
func windowKey(queue, user string) string { return queue + ":w:" + user }
func dueKey(queue string) string          { return queue + ":due" }

// admitScript: KEYS window, due, FCM queue. ARGV user, now ms, window ms, notification
// id, and the FCM hand-off (an fcm.Message as JSON, "" when the user has no device) and
// the FCM queue's cap. A notification that opens a window is handed to FCM in the same
// script: a crash can never open the window without the hand-off (which would turn
// the first push into a late summary). Returns {1, start} when the notification opens a window (send it now) and {0, start}
// when it is held for the window's summary. A window that ended but still holds
// notifications not yet summarised keeps counting: its summary is due now anyway, and
// opening a new window would lose the held count.
var admitScript = redis.NewScript(`#!lua
local now, w = tonumber(ARGV[2]), tonumber(ARGV[3])
local ends = tonumber(redis.call('HGET', KEYS[1], 'end') or '0')
local held = tonumber(redis.call('HGET', KEYS[1], 'h') or '0')
if ends <= now and held == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'start', now, 'end', now + w, 'c', 1, 'h', 0, 'id', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], 2 * w + 60000)
  if ARGV[5] ~= '' then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'user', ARGV[1], 'm', ARGV[5])
  end
  return {1, now}
end
redis.call('HINCRBY', KEYS[1], 'c', 1)
redis.call('HINCRBY', KEYS[1], 'h', 1)
redis.call('HSET', KEYS[1], 'id', ARGV[4])
redis.call('ZADD', KEYS[2], 'NX', ends, ARGV[1])
return {0, tonumber(redis.call('HGET', KEYS[1], 'start'))}
`)

// flushScript: KEYS due, window, queue. ARGV user, now ms, window ms, queue cap.
// Whoever removes the user from the due set turns the held count into one summary
// entry on the queue and opens the next window with it, so a user is pushed at most
// once per window after the first push. Returns 1 when it queued a summary.
var flushScript = redis.NewScript(`#!lua
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local held = tonumber(redis.call('HGET', KEYS[2], 'h') or '0')
if held == 0 then return 0 end
local count = redis.call('HGET', KEYS[2], 'c')
local id = redis.call('HGET', KEYS[2], 'id') or ''
local start = redis.call('HGET', KEYS[2], 'start')
local now, w = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'start', now, 'end', now + w, 'c', 0, 'h', 0, 'id', id)
redis.call('PEXPIRE', KEYS[2], 2 * w + 60000)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'user', ARGV[1], 'summary', count, 'id', id, 'topic', start)
return 1
`)

// admit runs the window check for one notification and, when it opens a window and
// handoff is not empty, hands it to FCM.
func (w *Worker) admit(ctx context.Context, user, id string, now time.Time, handoff []byte) (first bool, start int64, err error) {
	fcmQueue := w.opts.Queue + ":fcm" // unused by the script without a hand-off; same slot
	if w.opts.Mobile != nil && w.opts.Mobile.Queue != "" {
		fcmQueue = w.opts.Mobile.Queue
	}
	res, err := admitScript.Run(ctx, w.rdb, []string{windowKey(w.opts.Queue, user), dueKey(w.opts.Queue), fcmQueue},
		user, now.UnixMilli(), w.opts.Window.Milliseconds(), id, handoff, QueueMaxLen).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("push window: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("push window: unexpected reply %v", res)
	}
	return res[0] == 1, res[1], nil
}

// flushDue queues the summaries of every window that has ended. Every Worker runs it;
// the ZREM in the script makes sure one of them does each user.
func (w *Worker) flushDue(ctx context.Context, now time.Time) error {
	if w.fcm != nil { // a delivery Worker has no windows
		return nil
	}
	users, err := w.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: dueKey(w.opts.Queue), ByScore: true,
		Start: "-inf", Stop: strconv.FormatInt(now.UnixMilli(), 10), Count: 100}).Result()
	if err != nil {
		return fmt.Errorf("push due windows: %w", err)
	}
	for _, user := range users {
		keys := []string{dueKey(w.opts.Queue), windowKey(w.opts.Queue, user), w.opts.Queue}
		n, err := flushScript.Run(ctx, w.rdb, keys, user, now.UnixMilli(), w.opts.Window.Milliseconds(), QueueMaxLen).Int()
		if err != nil {
			return fmt.Errorf("push window summary: %w", err)
		}
		if n == 1 {
			w.stats.summaries.Add(1)
		}
	}
	return nil
}
