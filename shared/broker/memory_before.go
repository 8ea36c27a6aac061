package broker

import (
	"context"
	"slices"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Before returns up to limit notifications of source's log strictly before bound, the
// newest of them, oldest first: the history endpoint pages backwards with it
// (before=). Same contract as redisbroker.Broker.Before.
func (m *Memory) Before(_ context.Context, source string, bound rediskey.StreamID, limit int) ([]notification.Envelope, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.current(source)
	if l == nil {
		return nil, nil
	}
	var out []notification.Envelope
	for i := len(l.entries) - 1; i >= 0 && len(out) < limit; i-- {
		if l.entries[i].id.Compare(bound) < 0 && !skipUndecodable(source, l.entries[i]) {
			out = append(out, l.entries[i].env)
		}
	}
	slices.Reverse(out)
	return out, nil
}
