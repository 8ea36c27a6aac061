package server

import (
	"context"
	"errors"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// pageReader reads up to limit notifications of source's log strictly after pos,
// oldest first: Broker.After for a stream (it reports what cannot be resumed from),
// Broker.Range for history.
type pageReader func(ctx context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error)

// backlog yields the notifications of several logs after their positions as one list
// in creation order: by log position (ids are the Redis server's clock, so positions
// of different logs compare), ties broken by the order of sources (the user's own log,
// the broadcast log, then the groups). It reads each log a page at a time, only when
// that log's page is used up, so a merge over many logs holds at most a page of each.
//
// A stream's backlog stops each log at its head (Broker.Heads, taken at one instant
// after the stream joined live delivery): what is newer arrives live, in publishing
// order. Without that cut, a log read later than another would replay a notification
// created after one of the other log's that is still on its way live — out of order.
type backlog struct {
	read   pageReader
	page   int
	logs   []pending
	resets []sourceReset // the logs that cannot be resumed from (they yield nothing), not yet told
}

// pending is one log's fetched, not yet yielded notifications.
type pending struct {
	source string
	pos    rediskey.StreamID // of the last notification fetched (or the start)
	head   rediskey.StreamID // the last position to replay, when bounded
	items  []notification.Envelope
	done   bool // the last page was short, or reached head: nothing more to read
}

// sourceReset is a *broker.ResetError of one log.
type sourceReset struct {
	source string
	err    *broker.ResetError
}

// newBacklog starts a backlog of sources after their positions in pos (keyed by keyOf),
// up to heads[i] for sources[i] when heads is not nil. A log whose position is its head
// needs no read: nothing follows it, and it can be resumed from (its newest entry is
// held, so nothing after it was trimmed).
func newBacklog(read pageReader, page int, sources []string, pos cursor.Cursor, keyOf func(string) string, heads []rediskey.StreamID) *backlog {
	b := &backlog{read: read, page: page}
	for i, s := range sources {
		l := pending{source: s, pos: pos[keyOf(s)], head: rediskey.Max}
		if heads != nil {
			l.head = heads[i]
			l.done = l.pos == l.head
		}
		b.logs = append(b.logs, l)
	}
	return b
}

// fill reads the next page of every log whose page is used up. A log that cannot be
// resumed from (broker.ResetError) is recorded in b.resets and read no further.
func (b *backlog) fill(ctx context.Context) error {
	for i := range b.logs {
		l := &b.logs[i]
		if len(l.items) > 0 || l.done {
			continue
		}
		items, err := b.read(ctx, l.source, l.pos, b.page)
		var reset *broker.ResetError
		if errors.As(err, &reset) {
			l.done = true
			b.resets = append(b.resets, sourceReset{source: l.source, err: reset})
			continue
		}
		if err != nil {
			return err
		}
		l.items, l.done = items, len(items) < b.page
		if len(items) > 0 {
			l.pos, _ = positionOf(items[len(items)-1].ID)
		}
		for j, e := range l.items {
			if p, _ := positionOf(e.ID); p.Compare(l.head) > 0 {
				l.items, l.done = l.items[:j], true // newer than the head: it comes live
				break
			}
		}
	}
	return nil
}

// next returns the oldest notification not yet yielded, and false when there is none.
func (b *backlog) next(ctx context.Context) (notification.Envelope, bool, error) {
	if err := b.fill(ctx); err != nil {
		return notification.Envelope{}, false, err
	}
	best := -1
	var bestPos rediskey.StreamID
	for i := range b.logs {
		if len(b.logs[i].items) == 0 {
			continue
		}
		p, _ := positionOf(b.logs[i].items[0].ID)
		if best < 0 || p.Compare(bestPos) < 0 {
			best, bestPos = i, p
		}
	}
	if best < 0 {
		return notification.Envelope{}, false, nil
	}
	l := &b.logs[best]
	e := l.items[0]
	l.items[0] = notification.Envelope{}
	l.items = l.items[1:]
	return e, true, nil
}

// positionOf is the log position of a notification id of any log.
func positionOf(id string) (rediskey.StreamID, error) {
	_, pos, _, err := broker.SplitItemID(id)
	return pos, err
}
