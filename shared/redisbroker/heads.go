package redisbroker

import (
	"context"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// On a cluster the logs of one stream live in different slots, usually on different
// masters, and no MULTI spans them. Heads must still be one instant (the stream replays
// each log up to its head and takes the rest live; heads from different instants could
// replay a notification stored after one still on its way live: out of order). A
// double collect gives one: read every head, read them all again, and if the two
// collects are equal, every log held exactly those heads at every moment between the
// end of the first and the start of the second — a log's head only moves forward (new
// ids are larger than every id the log ever held, even after it expired and came back),
// so an unchanged head was unchanged all along. Each collect is one pipeline per
// master, sent in parallel. A log written to between the collects forces another try;
// after collectTries the last collect is used: the stream then still has no gap and no
// duplicate (each log is replayed to its own head and skips what it already sent), and
// only the order across logs of notifications stored during the read may differ from
// their creation order (HeadsUnsettled counts how often the collects never agreed).

// collectTries bounds the double collect: logs busy enough to change between every two
// collects get the last one.
const collectTries = 5

// collectHeads is Heads on a cluster.
func (b *Broker) collectHeads(ctx context.Context, sources []string) ([]rediskey.StreamID, error) {
	prev, err := b.readHeads(ctx, b.rdb.Pipelined, sources)
	if err != nil || len(sources) < 2 {
		return prev, err // one log needs no agreement with another
	}
	for range collectTries {
		next, err := b.readHeads(ctx, b.rdb.Pipelined, sources)
		if err != nil {
			return nil, err
		}
		if slices.Equal(prev, next) {
			return next, nil
		}
		prev = next
	}
	b.headsUnsettled.Add(1)
	return prev, nil
}

// atOnce runs fn's commands in one MULTI on one Redis; on a cluster, where they span
// slots, in one pipeline per master (the caller says why that is enough).
func (b *Broker) atOnce(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	if b.cluster != nil {
		return b.rdb.Pipelined(ctx, fn)
	}
	return b.rdb.TxPipelined(ctx, fn)
}

// HeadsUnsettled is how many Heads calls took a collect that never agreed with the next.
func (b *Broker) HeadsUnsettled() int64 { return b.headsUnsettled.Load() }
