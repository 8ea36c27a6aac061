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

// fail records why the stream ended on an error, and counts it.
func (c *conn) fail(reason string, err error) {
	c.closed = reason + ": " + err.Error()
	c.s.metrics.ConnErrors.WithLabelValues(reason).Inc()
}
