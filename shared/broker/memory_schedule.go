package broker

import (
	"context"
	"sort"
	"sync"
	"time"
)

// MemorySchedule is the in-process Schedule (the local system, tests): the same
// contract as redisbroker.Schedule, for one process.
type MemorySchedule struct {
	mu    sync.Mutex
	items map[string]memScheduled
}

type memScheduled struct {
	stored string
	due    time.Time
	lease  time.Time // zero: not claimed
}

var _ Schedule = (*MemorySchedule)(nil)

// NewMemorySchedule returns an empty schedule.
func NewMemorySchedule() *MemorySchedule { return &MemorySchedule{items: map[string]memScheduled{}} }

// Put implements Schedule.
func (m *MemorySchedule) Put(_ context.Context, s Scheduled) error {
	stored, err := EncodeScheduled(s)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[s.Key] = memScheduled{stored: stored, due: s.DueAt}
	return nil
}

// Cancel implements Schedule.
func (m *MemorySchedule) Cancel(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.items[key]
	delete(m.items, key)
	return ok, nil
}

// Claim implements Schedule: due items and lapsed leases, soonest first.
func (m *MemorySchedule) Claim(_ context.Context, now time.Time, lease time.Duration, max int) ([]Claimed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k, it := range m.items {
		if it.lease.IsZero() && !it.due.After(now) || !it.lease.IsZero() && !it.lease.After(now) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return m.items[keys[i]].due.Before(m.items[keys[j]].due) })
	var out []Claimed
	for _, k := range keys[:min(len(keys), max)] {
		it := m.items[k]
		c, err := DecodeScheduled(k, it.stored)
		if err != nil {
			delete(m.items, k) // cannot be released: never will be
			continue
		}
		it.lease = now.Add(lease)
		m.items[k] = it
		out = append(out, c)
	}
	return out, nil
}

// Done implements Schedule.
func (m *MemorySchedule) Done(_ context.Context, c Claimed) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it, ok := m.items[c.Key]; ok && it.stored == c.Stored {
		delete(m.items, c.Key)
	}
	return nil
}
