package server

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/hub"
)

// live forwards queued notifications until the stream must end: the client left, its
// lifetime (life) is over, the server is draining, a write failed, or the hub dropped
// it for falling behind. Each way out says why in c.closed.
//
// Heartbeats come from the instance's clock (beat.go), not a ticker of the stream's
// own: ping is closed when the stream has written nothing for half to one interval.
func (c *conn) live(ctx context.Context, life time.Duration) {
	s := c.s
	var batch []hub.Item
	lifeTimer := time.NewTimer(life)
	defer lifeTimer.Stop()
	slot := s.heartbeats().slot()
	ping := slot.wait()
	draining := s.draining
	var closeAt <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			c.closed = "client left"
			return
		case <-c.erase.erased:
			c.closed = "user erased"
			return
		case <-lifeTimer.C:
			c.closed = "lifetime"
			c.w.Retry(s.cfg.RetryHint)
			_ = c.w.Flush()
			return
		case <-draining:
			// Spread the closes so clients do not all reconnect in the same instant.
			draining = nil
			closeAt = time.After(time.Duration(rand.Int64N(int64(s.cfg.DrainTime) + 1)))
		case <-closeAt:
			c.closed = "shutdown"
			c.w.Retry(s.cfg.RetryHint/2 + time.Duration(rand.Int64N(int64(s.cfg.RetryHint)+1)))
			_ = c.w.Flush()
			return
		case <-ping:
			ping = slot.wait()
			c.w.Comment("ping")
			if err := c.w.Flush(); err != nil {
				c.fail("write", err)
				return
			}
		case <-c.sub.Ready():
			var dropped bool
			batch, dropped = c.sub.Take(batch[:0])
			if len(batch) > 0 {
				next := slot.wait() // before the write: see beatSlot.wait
				if err := c.forward(ctx, batch); err != nil {
					return
				}
				clear(batch)
				ping = next
			}
			if dropped {
				c.closed = "too slow"
				s.log.WarnContext(ctx, "dropping slow client", logging.KeyUserID, c.user)
				return
			}
		}
	}
}

// forward writes a batch taken from the queue. A resync marker in it means live
// delivery was interrupted: what precedes it is sent, then the preferences are read
// again (a change made during the gap was lost) and every log is replayed from its last
// position sent (covering the gap), then what follows (replayed ids are skipped).
func (c *conn) forward(ctx context.Context, batch []hub.Item) error {
	start := 0
	for i, it := range batch {
		if !it.Resync {
			continue
		}
		if err := c.sendLive(batch[start:i]); err != nil {
			c.fail("write", err)
			return err
		}
		start = i + 1
		err := c.loadPrefs(ctx)
		if err == nil {
			c.backlog, err = c.newBacklog(ctx)
		}
		if err == nil {
			err = c.catchUp(ctx)
		}
		if err != nil {
			c.fail("resync", err)
			return err
		}
	}
	if err := c.sendLive(batch[start:]); err != nil {
		c.fail("write", err)
		return err
	}
	return nil
}

// sendLive sends a run of queue items (none of them a marker): the notifications newer
// than the stream's position in their log and the control messages in their place,
// flushed once, with the notifications' delivery latency observed.
func (c *conn) sendLive(items []hub.Item) error {
	n := 0
	for i := range items {
		if items[i].IsControl() {
			if err := c.control(items[i].Control); err != nil {
				return err
			}
			continue
		}
		ok, err := c.queue(items[i].Envelope)
		if err != nil {
			return err
		}
		if ok {
			n++
		}
	}
	if err := c.flushQueued(n); err != nil || n == 0 {
		return err
	}
	now := time.Now()
	for i := range items {
		if at := items[i].CreatedAt; !at.IsZero() {
			c.s.metrics.Latency.Observe(now.Sub(at).Seconds())
		}
	}
	return nil
}
