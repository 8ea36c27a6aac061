package rooms

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Memory is a Store and a Fanout in this process (local runs and tests).
type Memory struct {
	now func() time.Time

	order   sync.Mutex // held across AppendPublish's two steps
	mu      sync.Mutex
	rooms   map[string]*memRoom
	deliver func(room string, frame []byte)
}

type memRoom struct {
	msgs    []Message
	ids     []rediskey.StreamID
	last    rediskey.StreamID // the newest ID ever given
	dropped rediskey.StreamID // the newest ID trimmed away
	state   State
	leases  map[string]Member
}

var (
	_ Store  = (*Memory)(nil)
	_ Fanout = (*Memory)(nil)
)

// NewMemory returns an empty store.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, rooms: map[string]*memRoom{}}
}

// SetDeliver sets where published frames go (the hub); set it before use.
func (s *Memory) SetDeliver(fn func(room string, frame []byte)) {
	s.mu.Lock()
	s.deliver = fn
	s.mu.Unlock()
}

func (s *Memory) room(r string) *memRoom {
	m := s.rooms[r]
	if m == nil {
		m = &memRoom{leases: map[string]Member{}}
		s.rooms[r] = m
	}
	return m
}

func (s *Memory) Append(_ context.Context, room string, m Message) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.room(room)
	now := s.now()
	id := rediskey.StreamID{Ms: uint64(now.UnixMilli())}
	if id.Compare(r.last) <= 0 {
		id = r.last.Next()
	}
	r.last = id
	m.ID, m.CreatedAt = id.String(), now.UTC()
	r.msgs, r.ids = append(r.msgs, m), append(r.ids, id)
	cut := max(len(r.msgs)-Keep, 0)
	for cut < len(r.msgs) && now.Sub(r.msgs[cut].CreatedAt) > KeepFor {
		cut++
	}
	if cut > 0 {
		r.dropped = r.ids[cut-1]
		r.msgs, r.ids = slices.Clone(r.msgs[cut:]), slices.Clone(r.ids[cut:])
	}
	return m, nil
}

func (s *Memory) Recent(_ context.Context, room string, n int) ([]Message, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.room(room)
	return slices.Clone(r.msgs[max(len(r.msgs)-n, 0):]), r.last.String(), nil
}

func (s *Memory) After(_ context.Context, room, after string) ([]Message, error) {
	id, err := rediskey.ParseStreamID(after)
	if err != nil {
		return nil, ErrReset
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.room(room)
	if id.Compare(r.last) > 0 || id.Compare(r.dropped) < 0 {
		return nil, ErrReset // unknown, or something after it was trimmed
	}
	i, _ := slices.BinarySearchFunc(r.ids, id, func(a, b rediskey.StreamID) int { return a.Compare(b) })
	for i < len(r.ids) && r.ids[i].Compare(id) <= 0 {
		i++
	}
	return slices.Clone(r.msgs[i:]), nil
}

func (s *Memory) State(_ context.Context, room string) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.room(room).state, nil
}

func (s *Memory) SetState(_ context.Context, room string, want State) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.room(room)
	if want.Version != r.state.Version {
		return r.state, ErrConflict
	}
	r.state = State{State: want.State, Version: want.Version + 1, By: want.By}
	return r.state, nil
}

func (s *Memory) Join(_ context.Context, room, lease string, m Member) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.room(room).leases[lease] = m
	return nil
}

func (s *Memory) Leave(_ context.Context, room, lease string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.room(room).leases, lease)
	return nil
}

func (s *Memory) Members(_ context.Context, room string) ([]Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return members(s.room(room).leases), nil
}

// members merges leases into one entry per user (a teacher when any socket is).
func members(leases map[string]Member) []Member {
	by := map[string]bool{}
	for _, m := range leases {
		by[m.User] = by[m.User] || m.Teacher
	}
	out := make([]Member, 0, len(by))
	for u, t := range by {
		out = append(out, Member{User: u, Teacher: t})
	}
	slices.SortFunc(out, func(a, b Member) int {
		if a.User < b.User {
			return -1
		}
		if a.User > b.User {
			return 1
		}
		return 0
	})
	return out
}

func (s *Memory) Publish(_ context.Context, room string, frame []byte) error {
	s.mu.Lock()
	fn := s.deliver
	s.mu.Unlock()
	if fn != nil {
		fn(room, frame)
	}
	return nil
}

func (s *Memory) Subscribe(context.Context, string) error   { return nil }
func (s *Memory) Unsubscribe(context.Context, string) error { return nil }
