package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// memPrefs is one user's stored preferences.
type memPrefs struct {
	p       Prefs
	expires time.Time
}

// MarkRead records that userID has read m's notifications and tells userID's live
// delivery. Read state is a flag on each log entry, so it lives exactly as long as the
// entry. See Broker.MarkRead.
func (m *Memory) MarkRead(_ context.Context, userID string, mark ReadMark) error {
	mark, err := mark.Validate()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.current(userID)
	if mark.All {
		if l != nil {
			for i := range l.entries {
				l.entries[i].read = true
			}
		}
		m.control(userID, Control{Kind: ControlRead, Data: ReadData(nil, true)})
		return nil
	}
	if l == nil {
		return nil
	}
	var found []string
	for _, id := range mark.IDs {
		if e := l.find(id); e != nil {
			e.read = true
			found = append(found, id)
		}
	}
	if len(found) > 0 {
		m.control(userID, Control{Kind: ControlRead, Data: ReadData(found, false)})
	}
	return nil
}

// ReadState reports which of ids are read and how many of userID's notifications are
// not. See Broker.ReadState.
func (m *Memory) ReadState(_ context.Context, userID string, ids []string) ([]bool, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	read := make([]bool, len(ids))
	l := m.current(userID)
	if l == nil {
		return read, 0, nil
	}
	for i, id := range ids {
		if e := l.find(id); e != nil {
			read[i] = e.read
		}
	}
	unread := 0
	for _, e := range l.entries {
		if !e.read {
			unread++
		}
	}
	return read, unread, nil
}

// find returns the entry stored under id, or nil.
func (l *memLog) find(id string) *memEntry {
	want, err := rediskey.ParseStreamID(id)
	if err != nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(l.entries, want, func(e memEntry, id rediskey.StreamID) int { return e.id.Compare(id) })
	if !ok {
		return nil
	}
	return &l.entries[i]
}

// Preferences returns userID's preferences, or the defaults.
func (m *Memory) Preferences(_ context.Context, userID string) (Prefs, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.prefs[userID]; ok && m.now().Before(p.expires) {
		return clonePrefs(p.p), nil
	}
	return DefaultPrefs(), nil
}

// SetPreferences stores p for PrefsTTL and tells userID's live delivery.
func (m *Memory) SetPreferences(_ context.Context, userID string, p Prefs) (Prefs, error) {
	p, err := p.Normalize()
	if err != nil {
		return p, err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return p, fmt.Errorf("encode preferences: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prefs[userID] = memPrefs{p: clonePrefs(p), expires: m.now().Add(PrefsTTL)}
	m.control(userID, Control{Kind: ControlPrefs, Data: data})
	return p, nil
}

// control hands c to the sink if userID is subscribed. m.mu must be held, so controls
// and notifications reach the sink in the order they were made.
func (m *Memory) control(userID string, c Control) {
	if m.subs[userID] && m.sink != nil {
		m.sink.Control(userID, c)
	}
}

func clonePrefs(p Prefs) Prefs {
	p.MutedTypes = slices.Clone(p.MutedTypes)
	if p.MutedTypes == nil {
		p.MutedTypes = []string{}
	}
	return p
}
