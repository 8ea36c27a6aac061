package ticket

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// RedisStore keeps tickets in Redis, so any instance can redeem them.
type RedisStore struct {
	rdb   redis.UniversalClient
	names rediskey.Names
}

// NewRedisStore returns a store over rdb.
func NewRedisStore(rdb redis.UniversalClient, names rediskey.Names) *RedisStore {
	return &RedisStore{rdb: rdb, names: names}
}

// Put implements Store.
func (s *RedisStore) Put(ctx context.Context, key, value string, ttl time.Duration) error {
	return s.rdb.Set(ctx, s.names.Ticket(key), value, ttl).Err()
}

// Take implements Store with GETDEL: two redemptions race, one wins.
func (s *RedisStore) Take(ctx context.Context, key string) (string, bool, error) {
	v, err := s.rdb.GetDel(ctx, s.names.Ticket(key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	return v, err == nil, err
}

// MemoryStore keeps tickets in this process (for `make run` and unit tests).
type MemoryStore struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]memTicket
}

type memTicket struct {
	value   string
	expires time.Time
}

// NewMemoryStore returns an empty store using clock now.
func NewMemoryStore(now func() time.Time) *MemoryStore {
	return &MemoryStore{now: now, m: map[string]memTicket{}}
}

// Put implements Store.
func (s *MemoryStore) Put(_ context.Context, key, value string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, t := range s.m { // tickets are few and short-lived: sweeping here is cheap
		if !now.Before(t.expires) {
			delete(s.m, k)
		}
	}
	s.m[key] = memTicket{value: value, expires: now.Add(ttl)}
	return nil
}

// Take implements Store.
func (s *MemoryStore) Take(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[key]
	delete(s.m, key)
	if !ok || !s.now().Before(t.expires) {
		return "", false, nil
	}
	return t.value, true, nil
}
