package rooms

import (
	"sync"

	"github.com/gorilla/websocket"
)

// queueSize is how many frames may wait for one socket before it is dropped as too
// slow (it resumes with ?after=); a slow socket never stalls its room.
const queueSize = 64

// item is one frame for a room's sockets, with its head parsed once for all of them.
type item struct {
	frame []byte
	head  *head
}

// sock is a socket's place in its room: the frames waiting for it. No goroutine waits
// on an idle socket's writes — frames queue in a slice and a writer goroutine runs only
// while the queue is non-empty, exiting when it drains (a writer goroutine per socket
// held a stack, a channel of queueSize and a timer for every idle socket;
// docs/PERFORMANCE.md "Rooms").
type sock struct {
	mu      sync.Mutex
	q       []item
	writing bool     // a flush goroutine runs
	ready   bool     // the welcome went out: queued frames may follow it
	done    bool     // dropped or ended: nothing more is queued or written
	out     *session // the socket; nil in tests of the hub alone
}

// push queues it. Deliver calls it with h.mu held, so it never blocks: a socket with
// queueSize frames waiting is too slow and is closed with 1013.
func (s *sock) push(it item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	if len(s.q) >= queueSize {
		s.done = true
		if s.out != nil {
			go s.out.close(websocket.CloseTryAgainLater, "too slow: resume with after")
		}
		return
	}
	s.q = append(s.q, it)
	s.kick()
}

// kick starts the writer when frames wait and none runs; s.mu is held.
func (s *sock) kick() {
	if s.ready && !s.writing && !s.done && len(s.q) > 0 && s.out != nil {
		s.writing = true
		go s.flush()
	}
}

// start lets queued frames follow the welcome.
func (s *sock) start() {
	s.mu.Lock()
	s.ready = true
	s.kick()
	s.mu.Unlock()
}

// stop ends the queue: what waits is dropped, nothing more is written.
func (s *sock) stop() {
	s.mu.Lock()
	s.done, s.q = true, nil
	s.mu.Unlock()
}

// flush writes what waits until the queue is empty. The frames the welcome already
// covered are skipped here, one socket at a time, since only one flush runs.
func (s *sock) flush() {
	for {
		s.mu.Lock()
		batch := s.q
		s.q = nil // the batch's array is not kept while the socket idles
		if len(batch) == 0 || s.done {
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, it := range batch {
			if s.out.stale(it.head) {
				continue
			}
			if s.out.write(it.frame) != nil {
				s.stop()
				_ = s.out.c.Close() // the reader fails and Serve ends
				s.mu.Lock()
				s.writing = false
				s.mu.Unlock()
				return
			}
		}
	}
}
