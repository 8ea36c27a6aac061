package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
	"github.com/vividly-edu/notifications/stream/internal/hub"
)

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

// catchUp sends the backlog (c.backlog, or c.reset first when the resume point cannot
// be used) in creation order, flushing a page at a time, until every log is caught up.
func (c *conn) catchUp(ctx context.Context) error {
	defer func() { c.backlog = nil }()
	if c.reset != nil {
		if err := c.sendReset(c.reset); err != nil {
			return err
		}
		c.reset = nil
		if c.backlog == nil { // the whole cursor was unusable: every log starts at its newest
			return nil
		}
	}
	n, replayed := 0, 0
	for {
		e, ok, err := c.backlog.next(ctx)
		if err != nil {
			return err
		}
		if len(c.backlog.resets) > 0 {
			// Logs that cannot be resumed from: tell the client (it refetches
			// history) and go on with the others, which lost nothing.
			if err := c.flushQueued(n); err != nil {
				return err
			}
			n = 0
			for _, r := range c.backlog.resets {
				if err := c.sendReset(&r); err != nil {
					return err
				}
			}
			c.backlog.resets = nil
		}
		if !ok {
			c.s.metrics.Replayed.Add(float64(replayed))
			return c.flushQueued(n)
		}
		wrote, err := c.queue(e)
		if err != nil {
			return err
		}
		if wrote {
			n++
			replayed++
		}
		if n == replayPage {
			if err := c.flushQueued(n); err != nil {
				return err
			}
			n = 0
		}
	}
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

// queue writes e's frame unless it is not newer than the stream's position in its log,
// or it is muted (and not mandatory) or expired (skipped: the position moves past it); it reports whether
// it wrote a frame. The frame's id is the stream's whole cursor.
func (c *conn) queue(e notification.Envelope) (bool, error) {
	source, pos, own, err := broker.SplitItemID(e.ID)
	if own {
		source = cursor.Own
	}
	last, ours := c.pos[source]
	if err != nil || !ours || pos.Compare(last) <= 0 {
		return false, nil // already sent (replay and live overlap), or not ours to trust
	}
	if c.prefs.Muted(string(e.Type)) && !e.Mandatory || e.Expired(time.Now()) {
		c.skip(source, pos)
		return false, nil
	}
	c.pos[source] = pos
	if err := c.w.Event(c.pos.String(), string(e.Type), e.Data); err != nil {
		return false, err
	}
	c.idOwed = false
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

// sendReset tells the client a log's position cannot be used (docs/PROTOCOL.md: event: reset,
// its id the cursor with that log at its newest, data the reason and the oldest id the
// log still holds, 0-0 when it holds none) and resumes that log from its newest id. A
// malformed cursor resets every log: they all start at their newest (c.pos already
// holds that, and the own log's reset names it).
func (c *conn) sendReset(r *sourceReset) error {
	c.pos[c.keyOf(r.source)] = r.err.Newest
	oldest := r.err.Oldest.String()
	if r.err.Oldest != rediskey.Zero {
		oldest = broker.ItemID(r.source, r.err.Oldest)
	}
	data, _ := json.Marshal(map[string]string{"reason": r.err.Reason, "oldest": oldest})
	if err := c.w.Event(c.pos.String(), "reset", data); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	c.s.metrics.Resets.Inc()
	return nil
}
