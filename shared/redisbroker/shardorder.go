package redisbroker

import (
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// merge orders the messages of several connections by creation time as far as it can
// see. Each connection delivers its channels in order, but the goroutines that read
// them reach the session in any order: under load each brings a batch, and the
// batches interleave. So the session queues what has arrived per connection and hands
// on the oldest head first (by the millisecond of its notification id, the Redis
// servers' clocks), whenever nothing more is waiting. A connection's own order is
// never changed. Messages still unread in a connection's buffer are not in sight: this
// narrows, not closes, the window in which notifications of logs on different masters
// created within milliseconds of each other arrive out of creation order
// (docs/CLUSTER.md, "Order").
type merge struct {
	queues []connQueue
}

type connQueue struct {
	conn *shardConn
	msgs []*redis.Message
	ms   []uint64 // each message's creation millisecond; 0 for a control
}

func (o *merge) empty() bool {
	for _, q := range o.queues {
		if len(q.msgs) > 0 {
			return false
		}
	}
	return true
}

func (o *merge) push(c *shardConn, m *redis.Message) {
	i := slices.IndexFunc(o.queues, func(q connQueue) bool { return q.conn == c })
	if i < 0 {
		o.queues = append(o.queues, connQueue{conn: c})
		i = len(o.queues) - 1
	}
	o.queues[i].msgs = append(o.queues[i].msgs, m)
	o.queues[i].ms = append(o.queues[i].ms, createdMs(m.Payload))
}

// pop removes and returns the oldest head. Call it only when not empty.
func (o *merge) pop() *redis.Message {
	best := -1
	for i, q := range o.queues {
		if len(q.msgs) > 0 && (best < 0 || q.ms[0] < o.queues[best].ms[0]) {
			best = i
		}
	}
	q := &o.queues[best]
	m := q.msgs[0]
	q.msgs, q.ms = q.msgs[1:], q.ms[1:]
	return m
}

// createdMs is the millisecond part of the id a live notification starts with
// ({"id":"[<source>:]<ms>-<seq>",…}, as the write script builds it); 0 for anything
// else (a control goes first among the heads: its own connection's order is kept).
func createdMs(payload string) uint64 {
	rest, ok := strings.CutPrefix(payload, `{"id":"`)
	if !ok {
		return 0
	}
	end := strings.IndexByte(rest, '"')
	if end < 0 {
		return 0
	}
	id := rest[:end]
	id = id[strings.LastIndexByte(id, ':')+1:]
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseUint(ms, 10, 64)
	if err != nil {
		return 0
	}
	return n
}
