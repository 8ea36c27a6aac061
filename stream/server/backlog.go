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
type backlog struct {
	read  pageReader
	page  int
	logs  []pending
	reset *sourceReset // set when a log cannot be resumed from; that log then yields nothing
}

// pending is one log's fetched, not yet yielded notifications.
type pending struct {
	source string
	pos    rediskey.StreamID // of the last notification fetched (or the start)
	items  []notification.Envelope
	done   bool // the last page was short: nothing more to read
}

// sourceReset is a *broker.ResetError of one log.
type sourceReset struct {
	source string
	err    *broker.ResetError
}

// newBacklog starts a backlog of sources after their positions in pos (keyed by keyOf).
func newBacklog(read pageReader, page int, sources []string, pos cursor.Cursor, keyOf func(string) string) *backlog {
	b := &backlog{read: read, page: page}
	for _, s := range sources {
		b.logs = append(b.logs, pending{source: s, pos: pos[keyOf(s)]})
	}
	return b
}

// fill reads the next page of every log whose page is used up. A log that cannot be
// resumed from (broker.ResetError) is recorded in b.reset and read no further.
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
			if b.reset == nil {
				b.reset = &sourceReset{source: l.source, err: reset}
			}
			continue
		}
		if err != nil {
			return err
		}
		l.items, l.done = items, len(items) < b.page
		if len(items) > 0 {
			l.pos, _ = positionOf(items[len(items)-1].ID)
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
