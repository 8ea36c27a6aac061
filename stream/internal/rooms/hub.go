package rooms

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vividly-edu/notifications/stream/internal/admission"
)

// Close codes of the contract.
const (
	CodeCredentials = 4401
	CodeNotMember   = 4403
	CodeExpired     = 4408
	CodeOverCap     = 4429
)

// queueSize is how many frames may wait for one socket before it is dropped as too
// slow (it resumes with ?after=); a slow socket never stalls its room.
const queueSize = 64

// Hub is one instance's rooms: the sockets of each room, fed from the Fanout.
type Hub struct {
	store    Store
	fan      Fanout
	log      *slog.Logger
	sends    *admission.Limiter // messages per user: 5/s, burst 10
	instance string
	seq      atomic.Int64

	subMu sync.Mutex // held while subscribing or unsubscribing a room (enter, exit)

	mu     sync.Mutex
	rooms  map[string]map[*sock]struct{}
	known  map[string]map[string]knownMember // per room: what its sockets were told of each user
	leases map[string]lease                  // this instance's sockets' leases, renewed by Run
}

type sock struct {
	q    chan []byte
	gone chan struct{} // closed when the hub drops the socket as too slow
	once sync.Once
}

// NewHub returns a hub over store and fan; instance names this process in leases.
func NewHub(store Store, fan Fanout, instance string, log *slog.Logger) (*Hub, error) {
	if store == nil || fan == nil || log == nil {
		return nil, errors.New("rooms.NewHub: nil dependency")
	}
	return &Hub{store: store, fan: fan, log: log, instance: instance,
		sends: admission.NewLimiter(5, 10, 0, time.Now), rooms: map[string]map[*sock]struct{}{},
		known: map[string]map[string]knownMember{}, leases: map[string]lease{}}, nil
}

// Deliver hands a frame published in room to this instance's sockets of the room.
func (h *Hub) Deliver(room string, frame []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.track(room, frame) {
		return
	}
	for s := range h.rooms[room] {
		select {
		case s.q <- frame:
		default:
			s.once.Do(func() { close(s.gone) })
		}
	}
}

// enter adds a socket to room, subscribing the instance on the room's first socket.
// subMu orders subscribing and unsubscribing, so a socket entering while the room's
// last one leaves never ends up without a subscription.
func (h *Hub) enter(ctx context.Context, room string) (*sock, error) {
	s := &sock{q: make(chan []byte, queueSize), gone: make(chan struct{})}
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.mu.Lock()
	first := h.rooms[room] == nil
	if first {
		h.rooms[room] = map[*sock]struct{}{}
	}
	h.rooms[room][s] = struct{}{}
	h.mu.Unlock()
	if first {
		if err := h.fan.Subscribe(ctx, room); err != nil {
			h.mu.Lock()
			delete(h.rooms, room)
			h.mu.Unlock()
			return nil, err
		}
	}
	return s, nil
}

func (h *Hub) exit(room string, s *sock) {
	h.mu.Lock()
	delete(h.rooms[room], s)
	h.mu.Unlock()
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.mu.Lock()
	last := h.rooms[room] != nil && len(h.rooms[room]) == 0
	if last {
		delete(h.rooms, room)
		delete(h.known, room)
	}
	h.mu.Unlock()
	if last {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = h.fan.Unsubscribe(ctx, room)
	}
}

func (h *Hub) lease() string {
	return h.instance + "/" + strconv.FormatInt(h.seq.Add(1), 10)
}
