package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/hub"
)

// forward writes a batch taken from the queue. A resync marker in it means live
// delivery was interrupted: what precedes it is sent, then the preferences are read
// again (a change made during the gap was lost) and the log is replayed from the last
// id sent (covering the gap), then what follows (replayed ids are skipped).
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
		var page []notification.Envelope
		var reset *broker.ResetError
		err := c.loadPrefs(ctx)
		if err == nil {
			page, reset, err = c.readAfter(ctx)
		}
		if err == nil {
			err = c.catchUp(ctx, page, reset)
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

// catchUp sends page (or reset) and then reads and sends the log after c.last until
// a short page says it is caught up.
func (c *conn) catchUp(ctx context.Context, page []notification.Envelope, reset *broker.ResetError) error {
	for {
		if reset != nil {
			return c.sendReset(reset)
		}
		c.s.metrics.Replayed.Add(float64(len(page)))
		if err := c.sendPage(page); err != nil {
			return err
		}
		if len(page) < replayPage {
			return nil
		}
		var err error
		if page, reset, err = c.readAfter(ctx); err != nil {
			return err
		}
	}
}

// readAfter reads the next page of the log after c.last; a reset is not an error.
func (c *conn) readAfter(ctx context.Context) ([]notification.Envelope, *broker.ResetError, error) {
	page, err := c.s.broker.After(ctx, c.user, c.last.String(), replayPage)
	var reset *broker.ResetError
	if errors.As(err, &reset) {
		return nil, reset, nil
	}
	return page, nil, err
}

// sendLive sends a run of queue items (none of them a marker): the notifications newer
// than c.last and the control messages in their place, flushed once, with the
// notifications' delivery latency observed.
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

// sendPage sends the notifications of a replay page newer than c.last, flushed once.
func (c *conn) sendPage(page []notification.Envelope) error {
	n := 0
	for _, e := range page {
		ok, err := c.queue(e)
		if err != nil {
			return err
		}
		if ok {
			n++
		}
	}
	return c.flushQueued(n)
}

// queue writes e's frame unless it is not newer than c.last, or its type is muted
// (skipped: the position moves past it); it reports whether it wrote a frame.
func (c *conn) queue(e notification.Envelope) (bool, error) {
	id, err := rediskey.ParseStreamID(e.ID)
	if err != nil || id.Compare(c.last) <= 0 {
		return false, nil // already sent (replay and live overlap), or not ours to trust
	}
	if c.prefs.Muted(string(e.Type)) {
		c.skip(id)
		return false, nil
	}
	if err := c.w.Event(e.ID, string(e.Type), e.Data); err != nil {
		return false, err
	}
	c.last, c.idOwed = id, false
	return true, nil
}

// flushSent flushes the n frames queued and counts them.
func (c *conn) flushSent(n int) error {
	if err := c.w.Flush(); err != nil {
		return err
	}
	c.sent += n
	c.s.metrics.Delivered.Add(float64(n))
	return nil
}

// sendReset tells the client its resume point cannot be used (DESIGN.md: event:
// reset, its id the log's newest) and resumes from the log's newest id.
func (c *conn) sendReset(r *broker.ResetError) error {
	data, _ := json.Marshal(map[string]string{"reason": r.Reason, "oldest": r.Oldest})
	if err := c.w.Event(r.Newest, "reset", data); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	c.s.metrics.Resets.Inc()
	c.last, _ = rediskey.ParseStreamID(r.Newest)
	return nil
}
