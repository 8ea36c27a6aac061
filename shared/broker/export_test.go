package broker

import "context"

// PlantUndecodable implements brokertest.Planter: it appends an entry that does not
// decode (a zero envelope, as memEntry documents; brokertest.UndecodableBody is what
// the Redis log holds) to source's log.
func (m *Memory) PlantUndecodable(_ context.Context, source string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	id := m.lastID.Next()
	if ms := uint64(now.UnixMilli()); ms > m.lastID.Ms {
		id.Ms, id.Seq = ms, 0
	}
	m.lastID = id
	l := m.log(source, now)
	l.entries = append(l.entries, memEntry{id: id, created: now})
	l.state.Exists, l.state.LastGenerated = true, id
	l.expires = now.Add(m.limits.Retention)
	m.trim(l, now)
	return id.String(), nil
}
