package server

import (
	"context"
	"errors"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// Paging backwards (docs/PROTOCOL.md "Endpoints": before=<cursor>). A page lists the newest
// limit notifications older than the cursor, oldest first, and its "prev" is the
// cursor of the next older page; the newest page (no after, no before) has one too,
// so "load older" starts there.

// olderReader is a broker that reads a log backwards from a position; both brokers
// of this repository are.
type olderReader interface {
	Before(ctx context.Context, source string, bound rediskey.StreamID, limit int) ([]notification.Envelope, error)
}

// errNoBefore: the broker cannot page backwards.
var errNoBefore = errors.New("before= is not supported by this broker")

// olderMerge returns the newest limit notifications of sources before their
// positions in bound, oldest first. A log bound does not name is read from its newest
// entry (a group the token gained since); a log at 0-0 has nothing older.
func (s *Server) olderMerge(ctx context.Context, sources []string, keyOf func(string) string, limit int, bound cursor.Cursor) ([]notification.Envelope, error) {
	older, ok := s.broker.(olderReader)
	if !ok {
		return nil, errNoBefore
	}
	items, _, err := s.newestMerge(ctx, sources, keyOf, limit, func(ctx context.Context, source string, n int) ([]notification.Envelope, error) {
		b, named := bound[keyOf(source)]
		switch {
		case !named:
			return s.broker.Latest(ctx, source, n)
		case b == rediskey.Zero:
			return nil, nil
		}
		return older.Before(ctx, source, b, n)
	})
	return items, err
}

// prevCursor is the before= cursor of the page older than items (oldest first, as
// newestMerge listed them, before filtering) read below bound (nil for the newest
// page): each log at its oldest item listed, and a log with none listed just past the
// page's oldest item, or at its bound if that is lower. The merge orders equal
// positions by source, so a log without items here may hold one at exactly that
// position that did not fit: its bound includes it (exclusive of the next position).
func prevCursor(sources []string, keyOf func(string) string, items []notification.Envelope, bound cursor.Cursor) string {
	if len(items) == 0 {
		return ""
	}
	oldest, _ := positionOf(items[0].ID)
	c := make(cursor.Cursor, len(sources))
	for _, source := range sources {
		k := keyOf(source)
		c[k] = oldest.Next()
		if b, named := bound[k]; named && b.Compare(c[k]) < 0 {
			c[k] = b // never back above what an earlier (newer) page listed
		}
	}
	listed := map[string]bool{}
	for _, e := range items {
		source, pos, own, err := broker.SplitItemID(e.ID)
		if err != nil {
			continue
		}
		if own {
			source = cursor.Own
		}
		if !listed[source] {
			listed[source], c[source] = true, pos
		}
	}
	return c.String()
}
