package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vividly-edu/notifications/stream/internal/admission"
)

// Close codes of the contract.
const (
	CodeCredentials = 4401
	CodeNotMember   = 4403
	CodeExpired     = 4408
	CodeOverCap     = 4429
)

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

	drains sync.Map // drain channels watched (watchDrain): chan → struct{}
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
// Its head is read once here, not by each socket.
func (h *Hub) Deliver(room string, frame []byte) {
	var hd head
	if json.Unmarshal(frame, &hd) != nil {
		return // not a frame of ours: no socket would send it
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.track(room, &hd) {
		return
	}
	it := item{frame: frame, head: &hd}
	for s := range h.rooms[room] {
		s.push(it)
	}
}

// watchDrain closes every socket of the hub with 1001 when drain is closed: one
// goroutine per drain channel (one per server), none per socket.
func (h *Hub) watchDrain(drain <-chan struct{}) {
	if drain == nil {
		return
	}
	if _, watched := h.drains.LoadOrStore(drain, struct{}{}); watched {
		return
	}
	go func() {
		<-drain
		h.mu.Lock()
		var ss []*session
		for _, room := range h.rooms {
			for s := range room {
				if s.out != nil {
					ss = append(ss, s.out)
				}
			}
		}
		h.mu.Unlock()
		for _, s := range ss {
			go s.close(websocket.CloseGoingAway, "instance draining")
		}
	}()
}

// enter adds a socket (out; nil in tests) to room, subscribing the instance on the
// room's first socket.
// subMu orders subscribing and unsubscribing, so a socket entering while the room's
// last one leaves never ends up without a subscription.
func (h *Hub) enter(ctx context.Context, room string, out *session) (*sock, error) {
	s := &sock{out: out}
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
