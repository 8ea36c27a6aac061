package broker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Memory is a broker inside one process, with the same behaviour as the Redis broker:
// dedupe by message ID, a capped and expiring log per user, live delivery to subscribed
// users. Safe for concurrent use.
type Memory struct {
	limits Limits
	now    func() time.Time

	mu   sync.Mutex
	logs map[string]*memLog
	seen map[string]seenMark // user + "\x00" + message ID
	subs map[string]bool
	// prefs holds each user's stored preferences (memory_prefs.go).
	prefs map[string]memPrefs
	sink  Sink
	// running is closed while Run is delivering; Subscribe waits for it, as the Redis
	// broker's Subscribe waits for its connection.
	running   chan struct{}
	lastID    rediskey.StreamID
	lastSweep time.Time
}

type memLog struct {
	entries []memEntry
	state   LogState
	expires time.Time
}

type memEntry struct {
	id      rediskey.StreamID
	created time.Time
	// env is the decoded notification; its zero value (no ID) marks an entry that does
	// not decode, which readers skip (see skipUndecodable). Publish decodes before it
	// stores, so only a test plants one, as a Redis log written under older rules
	// holds them.
	env  notification.Envelope
	read bool // read state lives in the entry: it leaves with it
	// readBy: the users who read it, for an entry of a group or broadcast log.
	readBy map[string]bool
	// seenBy and archivedBy: the users who saw or archived it (memory_inbox.go); for a
	// user's own entry, only that user is ever in them.
	seenBy, archivedBy map[string]bool
}

type seenMark struct {
	id      string
	expires time.Time
}

// NewMemory returns an empty in-process broker. now is the clock (time.Now in
// production); it lets tests age the log.
func NewMemory(limits Limits, now func() time.Time) (*Memory, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		return nil, fmt.Errorf("broker.NewMemory: nil clock")
	}
	return &Memory{limits: limits, now: now, logs: map[string]*memLog{}, seen: map[string]seenMark{}, subs: map[string]bool{},
		prefs: map[string]memPrefs{}, running: make(chan struct{})}, nil
}

// Publish stores n in source's log unless messageID was already stored, and hands it to
// the live sink if source is subscribed. It returns the notification's ID (the first
// one's, for a duplicate).
func (m *Memory) Publish(_ context.Context, source, messageID string, n notification.Notification) (string, bool, error) {
	body, err := n.Body()
	if err != nil {
		return "", false, fmt.Errorf("encode notification: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	key := source + "\x00" + messageID
	if s, ok := m.seen[key]; ok && now.Before(s.expires) {
		return s.id, true, nil
	}
	if now.Sub(m.lastSweep) >= sweepEvery {
		m.sweep(now)
		m.lastSweep = now
	}

	ms := uint64(now.UnixMilli())
	id := rediskey.StreamID{Ms: ms}
	if ms <= m.lastID.Ms {
		id = m.lastID.Next()
	}
	m.lastID = id

	l := m.log(source, now)
	env, err := notification.ParseEnvelope(notification.WithID(ItemID(source, id), body))
	if err != nil {
		return "", false, err
	}
	l.entries = append(l.entries, memEntry{id: id, created: now, env: env})
	l.state.Exists, l.state.LastGenerated = true, id
	l.expires = now.Add(m.limits.Retention)
	m.trim(l, now)
	m.seen[key] = seenMark{id: env.ID, expires: now.Add(m.limits.DedupeTTL)}

	if m.subs[source] && m.sink != nil {
		m.sink.Deliver(source, env)
	}
	return env.ID, false, nil
}

// log returns source's live log, creating it (or replacing an expired one).
func (m *Memory) log(source string, now time.Time) *memLog {
	l := m.logs[source]
	if l == nil || !now.Before(l.expires) {
		l = &memLog{}
		m.logs[source] = l
	}
	return l
}

// after returns up to limit entries of source's log l newer than id, oldest first.
func (l *memLog) after(source string, id rediskey.StreamID, limit int) []notification.Envelope {
	var out []notification.Envelope
	for _, e := range l.entries {
		if len(out) == limit {
			break
		}
		if e.id.Compare(id) > 0 && !skipUndecodable(source, e) {
			out = append(out, e.env)
		}
	}
	return out
}

// skipUndecodable reports whether e does not decode, logging it: one such entry must
// not fail every page that covers it. The log names the log's kind and the position,
// never the user's or group's id.
func skipUndecodable(source string, e memEntry) bool {
	if e.env.ID != "" {
		return false
	}
	slog.Error("skipping a log entry that does not decode", "log", SourceKind(source), "position", e.id.String())
	return true
}

// current returns source's log, trimmed to now, or nil when it has none or it expired.
// m.mu must be held.
func (m *Memory) current(source string) *memLog {
	now := m.now()
	l := m.logs[source]
	if l == nil || !now.Before(l.expires) {
		return nil
	}
	m.trim(l, now)
	return l
}

// trim drops entries beyond MaxLen or older than Retention, as XADD MAXLEN and XTRIM
// MINID do, remembering the newest one dropped.
func (m *Memory) trim(l *memLog, now time.Time) {
	cut := 0
	for cut < len(l.entries) && (int64(len(l.entries)-cut) > m.limits.MaxLen || now.Sub(l.entries[cut].created) >= m.limits.Retention) {
		l.state.MaxDeleted = l.entries[cut].id
		cut++
	}
	l.entries = l.entries[cut:]
	l.state.First = rediskey.Zero
	if len(l.entries) > 0 {
		l.state.First = l.entries[0].id
	}
}

// sweepEvery bounds how often Publish walks all state. Expiry is checked wherever marks
// and logs are read, so the sweep only returns memory and need not run every time.
const sweepEvery = time.Minute

// sweep forgets expired dedupe marks and logs, so memory stays bounded.
func (m *Memory) sweep(now time.Time) {
	for k, s := range m.seen {
		if !now.Before(s.expires) {
			delete(m.seen, k)
		}
	}
	for u, l := range m.logs {
		if !now.Before(l.expires) {
			delete(m.logs, u)
		}
	}
	for u, p := range m.prefs {
		if !now.Before(p.expires) {
			delete(m.prefs, u)
		}
	}
}

// After returns up to limit notifications of source's log after pos, oldest first, or
// a *ResetError when pos cannot be resumed from.
func (m *Memory) After(_ context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.current(source)
	if l == nil {
		l = &memLog{} // no log: CheckResume sees one that does not exist
	}
	if err := CheckResume(pos, l.state); err != nil {
		return nil, err
	}
	return l.after(source, pos, limit), nil
}

// Range returns up to limit notifications of source's log strictly after pos (not
// rediskey.Max), oldest first, whatever was trimmed.
func (m *Memory) Range(_ context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error) {
	if err := CheckRange(pos); err != nil {
		return nil, fmt.Errorf("range %s: %w", source, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.current(source)
	if l == nil {
		return nil, nil
	}
	return l.after(source, pos, limit), nil
}

// Heads returns the position of the newest entry of each source's log, under one lock.
func (m *Memory) Heads(_ context.Context, sources []string) ([]rediskey.StreamID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]rediskey.StreamID, len(sources))
	for i, source := range sources {
		if l := m.current(source); l != nil && len(l.entries) > 0 {
			out[i] = l.entries[len(l.entries)-1].id
		}
	}
	return out, nil
}

// Latest returns the newest limit notifications of source's log, oldest first.
func (m *Memory) Latest(_ context.Context, source string, limit int) ([]notification.Envelope, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.current(source)
	if l == nil {
		return nil, nil
	}
	var out []notification.Envelope
	for i := len(l.entries) - 1; i >= 0 && len(out) < limit; i-- {
		if !skipUndecodable(source, l.entries[i]) {
			out = append(out, l.entries[i].env)
		}
	}
	slices.Reverse(out)
	return out, nil
}
