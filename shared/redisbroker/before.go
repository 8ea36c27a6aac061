package redisbroker

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Before returns up to limit notifications of userID's log strictly before id (a
// valid stream id), the newest of them, oldest first: the history endpoint pages
// backwards with it (before=). One XREVRANGE, read on past undecodable entries as
// Latest does.
func (b *Broker) Before(ctx context.Context, userID, id string, limit int) ([]notification.Envelope, error) {
	bound, err := rediskey.ParseStreamID(id)
	if err != nil {
		return nil, fmt.Errorf("before %s: %w", userID, err)
	}
	end := "(" + id
	if bound == rediskey.Max { // "(Max" is no valid range end; nothing is after Max anyway
		end = "+"
	}
	key := b.names.Log(userID)
	msgs, err := b.rdb.XRevRangeN(ctx, key, end, "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("xrevrange %s: %w", key, err)
	}
	out, err := b.decode(ctx, userID, msgs, limit, func(ctx context.Context, last string, n int) ([]redis.XMessage, error) {
		return b.rdb.XRevRangeN(ctx, key, "("+last, "-", int64(n)).Result()
	})
	slices.Reverse(out)
	return out, err
}
