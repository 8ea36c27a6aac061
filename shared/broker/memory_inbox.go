package broker

import "context"

// Seen and archived state is kept in the entries, like read state, so it leaves with
// them. See Inbox.

// MarkSeen records that userID saw m's notifications. See Inbox.MarkSeen.
func (m *Memory) MarkSeen(_ context.Context, userID string, mark ReadMark) error {
	mark, err := mark.Validate()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if mark.All {
		for _, source := range append([]string{userID}, mark.Logs...) {
			if l := m.current(source); l != nil {
				for i := range l.entries {
					l.entries[i].seenBy = with(l.entries[i].seenBy, userID, true)
				}
			}
		}
		m.control(userID, Control{Kind: ControlInbox, Data: InboxData(OpSeen, nil, true)})
		return nil
	}
	var found []string
	for _, id := range mark.IDs {
		if e, _ := m.entry(userID, mark.Logs, id); e != nil {
			e.seenBy = with(e.seenBy, userID, true)
			found = append(found, id)
		}
	}
	if len(found) > 0 {
		m.control(userID, Control{Kind: ControlInbox, Data: InboxData(OpSeen, found, false)})
	}
	return nil
}

// SetArchived archives or unarchives ids for userID. See Inbox.SetArchived.
func (m *Memory) SetArchived(_ context.Context, userID string, logs []string, ids []string, archived bool) error {
	ids, err := ValidArchive(ids)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []string
	for _, id := range ids {
		if e, _ := m.entry(userID, logs, id); e != nil {
			e.archivedBy = with(e.archivedBy, userID, archived)
			found = append(found, id)
		}
	}
	op := OpArchive
	if !archived {
		op = OpUnarchive
	}
	if len(found) > 0 {
		m.control(userID, Control{Kind: ControlInbox, Data: InboxData(op, found, false)})
	}
	return nil
}

// InboxState reports userID's seen and archived state. See Inbox.InboxState.
func (m *Memory) InboxState(_ context.Context, userID string, logs []string, ids []string) (InboxState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := InboxState{Seen: make([]bool, len(ids)), Archived: make([]bool, len(ids))}
	for i, id := range ids {
		if e, _ := m.entry(userID, logs, id); e != nil {
			st.Seen[i], st.Archived[i] = e.seenBy[userID], e.archivedBy[userID]
		}
	}
	for _, source := range append([]string{userID}, logs...) {
		if l := m.current(source); l != nil {
			for _, e := range l.entries {
				if !e.seenBy[userID] {
					st.Unseen++
				}
			}
		}
	}
	return st, nil
}

// with returns set with user in it (in) or not.
func with(set map[string]bool, user string, in bool) map[string]bool {
	if !in {
		delete(set, user)
		return set
	}
	if set == nil {
		set = map[string]bool{}
	}
	set[user] = true
	return set
}

// MarkUnread undoes userID's reads of m.IDs. Read state is a flag on each entry (or
// userID's mark on a shared one), so undoing it touches only the entries named. See
// Inbox.MarkUnread.
func (m *Memory) MarkUnread(_ context.Context, userID string, mark ReadMark) error {
	mark, err := ValidUnread(mark)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []string
	for _, id := range mark.IDs {
		if e, own := m.entry(userID, mark.Logs, id); e != nil {
			if own {
				e.read = false
			} else {
				delete(e.readBy, userID)
			}
			found = append(found, id)
		}
	}
	if len(found) > 0 {
		m.control(userID, Control{Kind: ControlInbox, Data: InboxData(OpUnread, found, false)})
	}
	return nil
}
