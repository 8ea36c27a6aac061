package server

import (
	"context"
	"time"

	"github.com/vividly-edu/notifications/shared/logging"
)

// setPresence records c's presence entry, which the refresh keeps alive from now on.
func (s *Server) setPresence(c *conn, member string) {
	s.connsMu.Lock()
	c.member = member
	s.connsMu.Unlock()
}

// clearPresence stops refreshing c's presence entry and returns it ("" when none).
func (s *Server) clearPresence(c *conn) string {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	member := c.member
	c.member = ""
	return member
}

// releasePresence removes a presence entry; if that fails it expires by itself.
func (s *Server) releasePresence(user, member string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.presence.Release(ctx, user, member); err != nil {
		s.log.Warn("presence release failed; the entry expires by itself", logging.KeyError, err.Error())
	}
}

// presenceEntries returns the presence entries of the open streams: member → user.
func (s *Server) presenceEntries() map[string]string {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	out := make(map[string]string, len(s.conns))
	for c := range s.conns {
		if c.member != "" {
			out[c.member] = c.user
		}
	}
	return out
}

// refreshPresence keeps this instance's presence entries alive until ctx ends: every
// refreshEvery (presence.TTL/3) it hands the store every open stream's entry, and the
// store renews them per instance — the Redis store with one lease write for the whole
// instance and a slow sweep of the users' keys, not two commands per stream (see
// package presence). It calls Refresh even with no streams (the store then does
// nothing).
func (s *Server) refreshPresence(ctx context.Context) {
	t := time.NewTicker(s.refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.presence.Refresh(rctx, s.presenceEntries()); err != nil {
			s.log.Warn("presence refresh failed", logging.KeyError, err.Error())
		}
		cancel()
	}
}
