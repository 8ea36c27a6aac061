package webpush

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// renewClaims resets the idle time of entries this Worker is still handling (a push
// being retried can take minutes), so no other instance takes them over meanwhile.
func (w *Worker) renewClaims(ctx context.Context) error {
	w.mu.Lock()
	ids := make([]string, 0, len(w.inFlight))
	for id := range w.inFlight {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	return w.rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: w.opts.Queue, Group: w.opts.Group,
		Consumer: w.opts.Consumer, Messages: ids}).Err()
}

// reclaim takes over, into the taken slots, entries pending longer than ClaimIdle: their
// consumer died (or failed on a Redis error and left them for a retry). It gives back
// the slots it does not use.
func (w *Worker) reclaim(ctx, hctx context.Context, handlers *sync.WaitGroup, taken int) error {
	if w.claimCursor == "" {
		w.claimCursor = "0-0"
	}
	msgs, next, err := w.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: w.opts.Queue, Group: w.opts.Group,
		Consumer: w.opts.Consumer, MinIdle: w.opts.ClaimIdle, Start: w.claimCursor, Count: int64(taken)}).Result()
	if err != nil {
		w.dispatch(ctx, hctx, handlers, nil, taken)
		return err
	}
	w.claimCursor = next // "0-0" once the whole pending list has been scanned
	w.stats.reclaimed.Add(uint64(len(msgs)))
	w.dispatch(ctx, hctx, handlers, msgs, taken)
	return nil
}

// pruneConsumers deletes consumers of instances that are gone (each instance joins
// under a new name): idle for staleAfter with nothing pending, since what they had
// pending was reclaimed first. A live consumer reads every Block, never that idle.
func (w *Worker) pruneConsumers(ctx context.Context, staleAfter time.Duration) error {
	consumers, err := w.rdb.XInfoConsumers(ctx, w.opts.Queue, w.opts.Group).Result()
	if err != nil {
		return err
	}
	for _, c := range consumers {
		if c.Name != w.opts.Consumer && c.Pending == 0 && c.Idle > staleAfter {
			if err := w.rdb.XGroupDelConsumer(ctx, w.opts.Queue, w.opts.Group, c.Name).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}
