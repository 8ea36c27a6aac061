package server

import (
	"context"
	"encoding/json"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

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

// newBacklog is the replay of every log of the stream after its position, up to the
// logs' heads now (see backlog). Call it after joining live delivery.
func (c *conn) newBacklog(ctx context.Context) (*backlog, error) {
	heads, err := c.s.broker.Heads(ctx, c.sources)
	if err != nil {
		return nil, err
	}
	return newBacklog(c.s.broker.After, perLogPage(replayPage, len(c.sources)), c.sources, c.pos, c.keyOf, heads), nil
}

// replayPage is how many log entries one read fetches while replaying.
const replayPage = 100
