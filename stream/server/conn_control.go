package server

import (
	"context"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
)

// readEvent is the SSE event that tells a user's streams what was read.
const readEvent = "read"

// control handles a control message taken from the stream's queue, in its place among
// the notifications: a read mark becomes an `event: read` frame with no id: line (it is
// no log position, so the client's Last-Event-ID stays where it is), and so does a
// seen or archive change (`event: inbox`); a preference change
// applies to every notification after it.
func (c *conn) control(ctl broker.Control) error {
	switch ctl.Kind {
	case broker.ControlRead:
		if err := c.w.Event("", readEvent, ctl.Data); err != nil {
			return err
		}
		c.unflushed = true
	case broker.ControlInbox:
		if err := c.w.Event("", inboxEvent, ctl.Data); err != nil {
			return err
		}
		c.unflushed = true
	case broker.ControlPrefs:
		p, err := broker.ParsePrefs(ctl.Data)
		if err != nil {
			c.s.log.WarnContext(c.ctx, "ignoring unreadable preferences change", logging.KeyUserID, c.user,
				logging.KeyError, err.Error())
			return nil
		}
		c.prefs = p
	}
	return nil
}

// loadPrefs reads the user's preferences: when the stream opens (after joining the
// hub, so a change made since arrives as a control) and after a resync (changes sent
// while the live connection was down are lost).
func (c *conn) loadPrefs(ctx context.Context) error {
	p, err := c.s.broker.Preferences(ctx, c.user)
	if err != nil {
		return err
	}
	c.prefs = p
	return nil
}
