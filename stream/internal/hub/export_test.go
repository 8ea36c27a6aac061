package hub

import "github.com/vividly-edu/notifications/shared/broker"

// Users returns how many users and subscribers this hub holds (group and broadcast
// logs are not users; every subscriber has exactly one user).
func (h *Hub) Users() (users, subs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for source, u := range h.users {
		if broker.IsUserSource(source) {
			users++
			subs += len(u.subs)
		}
	}
	return users, subs
}
