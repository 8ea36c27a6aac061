package redisbroker

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
)

// An unread (broker.Inbox.MarkUnread) undoes a read without touching the neighbours.
// An id read one by one leaves ReadIDs. An id the watermark covers cannot leave it
// (that would un-read every entry before it, and the watermark never moves back), so
// it becomes an exception: a member of UnreadIDs, under the user's hash tag beside
// ReadIDs and ReadUpTo (see read.go). A later mark of the id, or of all, removes it
// (markScript); ReadState counts the held exceptions as unread. The cost is O(ids), as
// a mark's: nothing is scanned, nothing is written per other notification.
//
// UnreadIDs' TTL is the log's retention, renewed by every mark and unread, and for the
// user's own log by the publish script too (with ReadIDs and ReadUpTo), so it lives as
// long as that log. For a group's or the broadcast log, whose writes cannot touch the
// user's keys (another slot), it lives the retention after the user's last mark, like
// the user's other read state of that log.
//
// Like a mark it is two steps, never one atomic step spanning two slots: the log's
// state and the ids it holds (its slot: applyIDs), then unreadScript on the user's
// keys (the user's slot).

// unreadScript makes ids unread. The shebang makes Redis refuse it whole when out of
// memory.
//
// KEYS: 1 read ids, 2 read up to, 3 unread ids. ARGV: 1 retention ms, 2 the log's first
// entry's id, 3… the positions of the ids the log holds. Returns 1.
var unreadScript = redis.NewScript("#!lua\n" + luaStreamIDs + `
local upto = redis.call('GET', KEYS[2])
local w
if upto then w = string.sub(upto, 1, string.find(upto, ' ', 1, true) - 1) end
for i = 3, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  if w and not less(w, ARGV[i]) then
    local ms = parse(ARGV[i])
    redis.call('ZADD', KEYS[3], num(ms), ARGV[i])
  end
end
-- exceptions older than the log's first entry left it (ReadState ignores any of the
-- same millisecond that linger)
local fms = parse(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. num(fms))
redis.call('PEXPIRE', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

// MarkUnread undoes userID's reads of m.IDs and publishes an inbox control with op
// "unread" listing the ids the logs held. See broker.Inbox.MarkUnread.
func (b *Broker) MarkUnread(ctx context.Context, userID string, m broker.ReadMark) error {
	m, err := broker.ValidUnread(m)
	if err != nil {
		return err
	}
	found, err := b.applyIDs(ctx, userID, m.Logs, m.IDs, func(p redis.Pipeliner, source string, info *redis.XInfoStream, held []string) {
		keys := b.readKeys(userID, source)[1:]
		args := []any{b.limits.Retention.Milliseconds(), info.FirstEntry.ID}
		for _, pos := range held {
			args = append(args, pos)
		}
		// Eval, not EvalSha: in a pipeline a NOSCRIPT reply could not be retried.
		unreadScript.Eval(ctx, p, keys, args...)
	})
	if err != nil || len(found) == 0 {
		return err
	}
	return b.publishInbox(ctx, userID, broker.InboxData(broker.OpUnread, found, false))
}
