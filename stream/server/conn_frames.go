package server

import (
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

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

// skip passes over a muted notification: it stays in history and is not sent, but the
// stream's position moves past it, and the client is told so (skipped's id-only frame,
// written at the next flush unless a later event carries a newer id) — a resume must
// neither resend it nor, once the type is unmuted, replay it.
func (c *conn) skip(key string, pos rediskey.StreamID) {
	c.pos[key], c.idOwed = pos, true
}

// flushQueued writes the id-only frame a skipped notification left owing, and flushes
// if anything is queued: n notification frames, control frames, that id.
func (c *conn) flushQueued(n int) error {
	if c.idOwed {
		if err := c.w.ID(c.pos.String()); err != nil {
			return err
		}
		c.idOwed, c.unflushed = false, true
	}
	if n == 0 && !c.unflushed {
		return nil
	}
	c.unflushed = false
	return c.flushSent(n)
}
