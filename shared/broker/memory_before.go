package broker

import (
	"context"
	"fmt"
	"slices"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Before returns up to limit notifications of userID's log strictly before id (a
// valid stream id), the newest of them, oldest first: the history endpoint pages
// backwards with it (before=). Same contract as redisbroker.Broker.Before.
func (m *Memory) Before(_ context.Context, userID, id string, limit int) ([]notification.Envelope, error) {
	bound, err := rediskey.ParseStreamID(id)
	if err != nil {
		return nil, fmt.Errorf("before %s: %w", userID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.current(userID)
	if l == nil {
		return nil, nil
	}
	var out []notification.Envelope
	for i := len(l.entries) - 1; i >= 0 && len(out) < limit; i-- {
		if l.entries[i].id.Compare(bound) < 0 && !skipUndecodable(userID, l.entries[i]) {
			out = append(out, l.entries[i].env)
		}
	}
	slices.Reverse(out)
	return out, nil
}
