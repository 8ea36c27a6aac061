package broker

import (
	"context"
	"slices"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// MarkRead records that userID has read m's notifications and tells userID's live
// delivery. Read state is a flag on each log entry (for a group or broadcast entry, the
// set of users who read it), so it lives exactly as long as the entry. See
// Reads.MarkRead.
func (m *Memory) MarkRead(_ context.Context, userID string, mark ReadMark) error {
	mark, err := mark.Validate()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if mark.All {
		if l := m.current(userID); l != nil {
			for i := range l.entries {
				l.entries[i].read = true
			}
		}
		for _, source := range mark.Logs {
			if l := m.current(source); l != nil {
				for i := range l.entries {
					l.entries[i].markReadBy(userID)
				}
			}
		}
		m.control(userID, Control{Kind: ControlRead, Data: ReadData(nil, true)})
		return nil
	}
	var found []string
	for _, id := range mark.IDs {
		if e, own := m.entry(userID, mark.Logs, id); e != nil {
			if own {
				e.read = true
			} else {
				e.markReadBy(userID)
			}
			found = append(found, id)
		}
	}
	if len(found) > 0 {
		m.control(userID, Control{Kind: ControlRead, Data: ReadData(found, false)})
	}
	return nil
}

// ReadState reports which of ids userID read and how many notifications of userID's
// own log and of logs are not. See Reads.ReadState.
func (m *Memory) ReadState(_ context.Context, userID string, logs []string, ids []string) ([]bool, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	read := make([]bool, len(ids))
	for i, id := range ids {
		if e, _ := m.entry(userID, logs, id); e != nil {
			read[i] = e.readByUser(userID)
		}
	}
	unread := 0
	for _, source := range append([]string{userID}, logs...) {
		if l := m.current(source); l != nil {
			for _, e := range l.entries {
				if !e.readByUser(userID) {
					unread++
				}
			}
		}
	}
	return read, unread, nil
}

// entry returns the entry a notification id names: of userID's own log, or of one of
// logs (own is false); nil when it is malformed, of another log, or not held. m.mu
// held.
func (m *Memory) entry(userID string, logs []string, id string) (e *memEntry, own bool) {
	source, pos, own, err := SplitItemID(id)
	if err != nil || !own && !slices.Contains(logs, source) {
		return nil, own
	}
	if own {
		source = userID
	}
	l := m.current(source)
	if l == nil {
		return nil, own
	}
	return l.find(pos), own
}

// markReadBy records that user read e, an entry of a group or broadcast log (the flag
// of a user's own entry is e.read).
func (e *memEntry) markReadBy(user string) {
	if e.readBy == nil {
		e.readBy = map[string]bool{}
	}
	e.readBy[user] = true
}

// readByUser reports whether user read e: its own entry's flag, or its mark on a shared
// entry.
func (e *memEntry) readByUser(user string) bool { return e.read || e.readBy[user] }

// find returns the entry at pos, or nil.
func (l *memLog) find(pos rediskey.StreamID) *memEntry {
	i, ok := slices.BinarySearchFunc(l.entries, pos, func(e memEntry, id rediskey.StreamID) int { return e.id.Compare(id) })
	if !ok {
		return nil
	}
	return &l.entries[i]
}

// control hands c to the sink if userID is subscribed. m.mu must be held, so controls
// and notifications reach the sink in the order they were made.
func (m *Memory) control(userID string, c Control) {
	if m.subs[userID] && m.sink != nil {
		m.sink.Control(userID, c)
	}
}
