package server

import (
	"sync"

	"github.com/vividly-edu/notifications/shared/broker"
)

// eraser is how a connection is ended when its user is erased: erased is closed (a
// stream's loop selects on it), or end is called (a room socket's context).
type eraser struct {
	erased chan struct{}
	end    func()
}

func newEraser() eraser {
	ch := make(chan struct{})
	return eraser{erased: ch, end: sync.OnceFunc(func() { close(ch) })}
}

// closeErased ends every stream and room socket of user on this instance (a
// broker.ControlErase: the user's data was erased, docs/PRIVACY.md).
// Only connections with a presence entry are considered: their user is set before it,
// under connsMu, and every open stream and room socket has one.
func (s *Server) closeErased(user string) {
	if user == "" {
		return
	}
	var ends []func()
	s.connsMu.Lock()
	for c := range s.conns {
		if c.member != "" && c.user == user && c.erase.end != nil {
			ends = append(ends, c.erase.end)
		}
	}
	s.connsMu.Unlock()
	for _, end := range ends {
		end()
	}
	if len(ends) > 0 {
		// No user id: the erasure is logged by the function under its message id.
		s.log.Info("closed the connections of an erased user", "connections", len(ends))
	}
}

// control routes a control message: an erasure is this instance's to act on (it
// arrives on the broadcast channel, for every instance); the others go to the user's
// streams through the hub.
func (k sink) control(userID string, c broker.Control) {
	if c.Kind == broker.ControlErase {
		k.s.closeErased(broker.ErasedUser(c.Data))
		return
	}
	k.s.hub.Control(userID, c)
}
