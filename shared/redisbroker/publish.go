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
// KEYS: 1 dedupe marker, 2 log, 3 read ids, 4 read up to, 5 unread ids (unread.go). ARGV: 1 body (JSON object
// without id), 2 max length, 3 retention ms, 4 dedupe TTL ms, 5 channel, 6 what the
// notification's id starts with (broker.ItemPrefix: empty for a user's own log), 7 the
// publish command (publishCommand: on a cluster, the channel is in KEYS' slot).
// Returns {1, first id} for a duplicate, {0, new id} otherwise.
//
// A duplicate renews its marker's TTL: that write puts this connection's replication
// offset past the first write, so the WAIT that follows covers the first write too (a
// retry of a write that was stored but not yet replicated waits again).
var publishScript = redis.NewScript(`#!lua
local seen = redis.call('GET', KEYS[1])
if seen then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
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
redis.call('PEXPIRE', KEYS[5], ARGV[3])
redis.call('SET', KEYS[1], id, 'PX', ARGV[4])
redis.call(ARGV[7], ARGV[5], '{"id":"' .. ARGV[6] .. id .. '",' .. string.sub(ARGV[1], 2))
return {0, id}
`)

// Publish stores n in source's log (a user's, a group's, Everyone's) and
// publishes it, unless messageID was already stored there. It returns the
// notification's ID (the first one's, for a duplicate). When replicas are connected it
// returns only once one holds the write and its push queue entry (ErrNotReplicated
// after the timeout). An error means the caller must not acknowledge: a retry is
// deduplicated.
func (b *Broker) Publish(ctx context.Context, source, messageID string, n notification.Notification) (string, bool, error) {
	id, dup, err := b.publish(ctx, source, messageID, n)
	if err != nil && b.cluster != nil {
		// MOVED, ASK, TRYAGAIN or a dead master: the next attempt (Pub/Sub's retry)
		// should find the slot's owner now.
		b.cluster.ReloadState(ctx)
	}
	return id, dup, err
}

func (b *Broker) publish(ctx context.Context, source, messageID string, n notification.Notification) (string, bool, error) {
	body, err := n.Body()
	if err != nil {
		return "", false, fmt.Errorf("encode notification: %w", err)
	}
	node, err := b.node(ctx, b.names.Log(source))
	if err != nil {
		return "", false, err
	}
	replicas := b.repl.need(ctx, node)
	// A group's or the broadcast log's notification is queued too, under its source
	// name (user field "@<group>" or "!all"): the push worker fans it out to the
	// members (stream/internal/audience), one write here whatever the audience size.
	if !b.opts.EnqueuePush {
		id, dup, err := b.store(ctx, node, node, replicas, source, messageID, body)
		if err == nil {
			b.repl.done(ctx, replicas)
		}
		return id, dup, err
	}
	qNode, err := b.node(ctx, b.names.PushQueue())
	if err != nil {
		return "", false, err
	}
	if qNode.Options().Addr != node.Options().Addr {
		// A cluster, the queue on another master: each write waits for its own
		// master's replicas.
		id, dup, err := b.store(ctx, node, node, replicas, source, messageID, body)
		if err != nil {
			return "", false, err
		}
		qReplicas := b.repl.need(ctx, qNode)
		if err := b.enqueue(ctx, qNode, qNode, !dup, qReplicas, source, notification.WithID(id, body)); err != nil {
			return "", false, err
		}
		b.repl.done(ctx, min(replicas, qReplicas))
		return id, dup, nil
	}
	// WAIT counts the writes of the connection it runs on: the script, the queue entry
	// and WAIT share one connection, held for the call.
	conn := node.Conn()
	defer conn.Close()
	id, dup, err := b.store(ctx, node, conn, 0, source, messageID, body)
	if err != nil {
		return "", false, err
	}
	if err := b.enqueue(ctx, node, conn, !dup, replicas, source, notification.WithID(id, body)); err != nil {
		return "", false, err
	}
	b.repl.done(ctx, replicas)
	return id, dup, nil
}

// node is the client a write of key and its WAIT go through: the one Redis, or on a
// cluster the master that owns key's slot now (WAIT sent through the cluster client
// would go to any master: docs/CLUSTER-NOTES.md, b).
func (b *Broker) node(ctx context.Context, key string) (*redis.Client, error) {
	if b.cluster == nil {
		return b.rdb.(*redis.Client), nil // New accepts nothing else
	}
	node, err := b.cluster.MasterForKey(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("master of %s: %w", key, err)
	}
	return node, nil
}

// enqueue adds the push queue entry of a new notification (when add) and waits for
// replicas behind it, in one pipeline on c, a connection to node.
func (b *Broker) enqueue(ctx context.Context, node *redis.Client, c redis.Cmdable, add bool, replicas int, source string, data []byte) error {
	var q *redis.StringCmd
	var w *redis.Cmd
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if add {
			q = enqueuePush(ctx, p, b.names.PushQueue(), source, data)
		}
		if replicas > 0 {
			w = b.repl.wait(ctx, p, replicas)
		}
		return nil
	})
	if q != nil && q.Err() != nil {
		// Only the push is lost (the notification is stored, and a retry would be
		// deduplicated): logged, not returned.
		b.opts.Log.WarnContext(ctx, "web push not queued", logging.KeyUserID, source, logging.KeyError, q.Err().Error())
	}
	if w != nil {
		return b.repl.check(ctx, node, w, replicas)
	}
	return nil
}

// store runs the publish script on c (a connection to node) and, when replicas > 0, a
// WAIT for that many replicas behind it on the same connection (one pipeline). It
// returns the notification's id and whether it was a duplicate.
func (b *Broker) store(ctx context.Context, node *redis.Client, c redis.Cmdable, replicas int, source, messageID string, body []byte) (string, bool, error) {
	key := b.names.Log(source)
	keys := []string{b.names.Seen(source, messageID), key, b.names.ReadIDs(source), b.names.ReadUpTo(source),
		b.names.UnreadIDs(source, source)}
	args := []any{body, b.limits.MaxLen, b.limits.Retention.Milliseconds(), b.limits.DedupeTTL.Milliseconds(),
		b.names.Channel(source), broker.ItemPrefix(source), b.publishCommand()}
	var res *redis.Cmd
	var w *redis.Cmd
	exec := func(eval func(p redis.Pipeliner) *redis.Cmd) {
		_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
			res = eval(p)
			if replicas > 0 {
				w = b.repl.wait(ctx, p, replicas)
			}
			return nil
		})
	}
	exec(func(p redis.Pipeliner) *redis.Cmd { return publishScript.EvalSha(ctx, p, keys, args...) })
	if redis.HasErrorPrefix(res.Err(), "NOSCRIPT") {
		// First use on this server (or after a failover): send the body once.
		exec(func(p redis.Pipeliner) *redis.Cmd { return publishScript.Eval(ctx, p, keys, args...) })
	}
	vals, err := res.Slice()
	if err != nil {
		return "", false, fmt.Errorf("publish script for %s: %w", key, err)
	}
	if len(vals) != 2 {
		return "", false, fmt.Errorf("publish script: unexpected reply %v", vals)
	}
	dup, _ := vals[0].(int64)
	id, _ := vals[1].(string)
	if w != nil {
		if err := b.repl.check(ctx, node, w, replicas); err != nil {
			return "", false, err
		}
	}
	return broker.ItemPrefix(source) + id, dup == 1, nil
}

// publishCommand publishes on the broker's channels: SPUBLISH to a shard channel on a
// cluster (a PUBLISH there is forwarded to every node), PUBLISH on one Redis.
func (b *Broker) publishCommand() string {
	if b.cluster != nil {
		return "SPUBLISH"
	}
	return "PUBLISH"
}

// publishTo queues the publication of payload on channel.
func (b *Broker) publishTo(ctx context.Context, c redis.Cmdable, channel string, payload any) *redis.IntCmd {
	if b.cluster != nil {
		return c.SPublish(ctx, channel, payload)
	}
	return c.Publish(ctx, channel, payload)
}

// EnqueuePush adds one notification (its SSE data JSON) for user to the Web Push
// queue: XADD <queue> MAXLEN ~ 100000 * user <user_id> n <data>.
func EnqueuePush(ctx context.Context, rdb redis.Cmdable, queue, user string, data []byte) (string, error) {
	id, err := enqueuePush(ctx, rdb, queue, user, data).Result()
	if err != nil {
		return "", fmt.Errorf("xadd %s: %w", queue, err)
	}
	return id, nil
}

func enqueuePush(ctx context.Context, rdb redis.Cmdable, queue, user string, data []byte) *redis.StringCmd {
	return rdb.XAdd(ctx, &redis.XAddArgs{Stream: queue, MaxLen: rediskey.PushQueueMaxLen, Approx: true,
		Values: []any{rediskey.PushFieldUser, user, rediskey.PushFieldNotification, data}})
}
