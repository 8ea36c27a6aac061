package server

import (
	"context"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// streamSources are the logs a user's stream and history read: the user's own, the
// broadcast log, and one per group the token names (docs/PROTOCOL.md "The cursor"). The user's
// own log comes first (hub.Join's rule), and the order is the tie-break of a merge.
func streamSources(id auth.Identity) []string {
	out := make([]string, 0, 2+len(id.Groups))
	out = append(out, id.UserID, broker.Everyone)
	for _, g := range id.Groups {
		out = append(out, broker.GroupSource(g))
	}
	return out
}

// cursorKey names source in a cursor of user's logs (see conn.keyOf).
func cursorKey(user, source string) string {
	if source == user {
		return cursor.Own
	}
	return source
}

// positions is the cursor of sources: each log's position in given, and for a log
// given does not name (a new group, or a fresh stream) its newest entry (0-0 when
// empty), all read in one Broker.Heads — except for the cursor "0-0", whose groups start
// at 0-0. Positions given for logs not among sources (a
// group the token no longer names) are dropped.
func (s *Server) positions(ctx context.Context, sources []string, given cursor.Cursor, keyOf func(string) string) (cursor.Cursor, error) {
	pos := make(cursor.Cursor, len(sources))
	var missing []string
	for _, source := range sources {
		if p, ok := given[keyOf(source)]; ok {
			pos[keyOf(source)] = p
		} else {
			missing = append(missing, source)
		}
	}
	if len(missing) == 0 {
		return pos, nil
	}
	if len(given) == 2 && given[cursor.Own] == rediskey.Zero && given[broker.Everyone] == rediskey.Zero {
		// "0-0": a client that has received nothing at all (its history was empty,
		// so every log it reads was empty then). Starting its groups at their newest
		// could skip one published since; from the start is exact.
		for _, source := range missing {
			pos[keyOf(source)] = rediskey.Zero
		}
		return pos, nil
	}
	heads, err := s.broker.Heads(ctx, missing)
	if err != nil {
		return nil, err
	}
	for i, source := range missing {
		pos[keyOf(source)] = heads[i]
	}
	return pos, nil
}
