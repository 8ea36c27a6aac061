package broker

import (
	"context"
	"slices"
	"time"
)

// memPrefs is one user's stored preferences.
type memPrefs struct {
	p       Prefs
	expires time.Time
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
	p, data, err := p.Encode()
	if err != nil {
		return p, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prefs[userID] = memPrefs{p: clonePrefs(p), expires: m.now().Add(PrefsTTL)}
	m.control(userID, Control{Kind: ControlPrefs, Data: data})
	return p, nil
}

func clonePrefs(p Prefs) Prefs {
	p.MutedTypes = slices.Clone(p.MutedTypes)
	if p.MutedTypes == nil {
		p.MutedTypes = []string{}
	}
	p.PushMutedTypes = slices.Clone(p.PushMutedTypes)
	if p.PushMutedTypes == nil {
		p.PushMutedTypes = []string{}
	}
	if p.QuietHours != nil {
		q := *p.QuietHours
		p.QuietHours = &q
	}
	return p
}
