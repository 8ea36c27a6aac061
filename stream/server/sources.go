package server

import (
	"context"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// streamSources are the logs a user's stream and history read: the user's own, the
// broadcast log, and one per group the token names (DESIGN.md "Audiences"). The user's
// own log comes first (hub.Join's rule), and the order is the tie-break of a merge.
func streamSources(id auth.Identity) []string {
	out := make([]string, 0, 2+len(id.Groups))
	out = append(out, id.UserID, broker.Everyone)
	for _, g := range id.Groups {
		out = append(out, broker.GroupSource(g))
	}
	return out
}

// keyOf names source in the stream's cursor: the user's own log is cursor.Own (a
// cursor never holds the user id), the others by their source name.
func (c *conn) keyOf(source string) string { return cursorKey(c.user, source) }

func cursorKey(user, source string) string {
	if source == user {
		return cursor.Own
	}
	return source
}

// positions is the cursor of sources: each log's position in given, and for a log
// given does not name (a new group, the broadcast log for a client from before it
// existed, or a fresh stream) its newest entry (0-0 when empty). Positions given for
// logs not among sources (a group the token no longer names) are dropped.
func (s *Server) positions(ctx context.Context, sources []string, given cursor.Cursor, keyOf func(string) string) (cursor.Cursor, error) {
	pos := make(cursor.Cursor, len(sources))
	for _, source := range sources {
		k := keyOf(source)
		if p, ok := given[k]; ok {
			pos[k] = p
			continue
		}
		latest, err := s.broker.Latest(ctx, source, 1)
		if err != nil {
			return nil, err
		}
		pos[k] = rediskey.Zero
		if len(latest) == 1 {
			pos[k], _ = positionOf(latest[0].ID)
		}
	}
	return pos, nil
}

// newBacklog is the replay of every log of the stream after its position.
func (c *conn) newBacklog() *backlog {
	after := func(ctx context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error) {
		return c.s.broker.After(ctx, source, pos.String(), limit)
	}
	return newBacklog(after, replayPage, c.sources, c.pos, c.keyOf)
}
