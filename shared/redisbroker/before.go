package redisbroker

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Before returns up to limit notifications of source's log strictly before bound, the
// newest of them, oldest first: the history endpoint pages backwards with it
// (before=). One XREVRANGE, read on past undecodable entries as Latest does.
func (b *Broker) Before(ctx context.Context, source string, bound rediskey.StreamID, limit int) ([]notification.Envelope, error) {
	end := "(" + bound.String()
	if bound == rediskey.Max { // "(Max" is no valid range end; nothing is after Max anyway
		end = "+"
	}
	key := b.names.Log(source)
	msgs, err := b.rdb.XRevRangeN(ctx, key, end, "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("xrevrange %s: %w", key, err)
	}
	out, err := b.decode(ctx, source, msgs, limit, func(ctx context.Context, last string, n int) ([]redis.XMessage, error) {
		return b.rdb.XRevRangeN(ctx, key, "("+last, "-", int64(n)).Result()
	})
	slices.Reverse(out)
	return out, err
}
