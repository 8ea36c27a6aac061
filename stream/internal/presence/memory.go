package presence

import (
	"context"
	"sync"
	"time"
)

// Memory is presence inside one process (for `make run` and unit tests), with the same
// rules as Redis.
type Memory struct {
	now    func() time.Time
	mu     sync.Mutex
	users  map[string]map[string]time.Time // user → conn → expiry of its own
	leases map[string]time.Time            // instance → lease expiry
}

// NewMemory returns empty presence.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, users: map[string]map[string]time.Time{}, leases: map[string]time.Time{}}
}

// live reports whether conn, with its own expiry exp, counts at now. Under p.mu.
func (p *Memory) live(conn string, exp, now time.Time) bool {
	return exp.After(now) || p.leases[instanceOf(conn)].After(now)
}

// Acquire implements the same rule as Redis.Acquire.
func (p *Memory) Acquire(_ context.Context, user, conn string, limit int) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	set := p.users[user]
	if set == nil {
		set = map[string]time.Time{}
		p.users[user] = set
	}
	for c, exp := range set {
		if !p.live(c, exp, now) {
			delete(set, c)
		}
	}
	if _, ok := set[conn]; !ok && len(set) >= limit {
		return false, nil
	}
	set[conn] = now.Add(TTL)
	return true, nil
}

// Release forgets conn.
func (p *Memory) Release(_ context.Context, user, conn string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.users[user], conn)
	if len(p.users[user]) == 0 {
		delete(p.users, user)
	}
	return nil
}

// Refresh renews the leases of the listed connections' instances.
func (p *Memory) Refresh(_ context.Context, conns map[string]string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for inst, exp := range p.leases {
		if !exp.After(now) {
			delete(p.leases, inst)
		}
	}
	for conn := range conns {
		p.leases[instanceOf(conn)] = now.Add(TTL)
	}
	return nil
}

// Count returns how many live connections user has.
func (p *Memory) Count(_ context.Context, user string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	n := 0
	for c, exp := range p.users[user] {
		if p.live(c, exp, now) {
			n++
		}
	}
	return n, nil
}
