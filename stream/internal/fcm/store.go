package fcm

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/userhash"
)

// RedisStore keeps devices in one hash per user (rediskey.Names.PushDevices). Safe for
// concurrent use.
type RedisStore struct {
	rdb   redis.UniversalClient
	names rediskey.Names
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store over rdb.
func NewRedisStore(rdb redis.UniversalClient, names rediskey.Names) *RedisStore {
	return &RedisStore{rdb: rdb, names: names}
}

// Add implements Store.
func (r *RedisStore) Add(ctx context.Context, user string, d Device) (bool, error) {
	if err := d.Validate(); err != nil {
		return false, err
	}
	res, err := userhash.Put(ctx, r.rdb, r.names.PushDevices(user), d.Token, d, MaxDevices, DeviceTTL)
	if err != nil {
		return false, fmt.Errorf("add push device: %w", err)
	}
	if res == userhash.Full {
		return false, ErrTooManyDevices
	}
	return res == userhash.Added, nil
}

// Remove implements Store.
func (r *RedisStore) Remove(ctx context.Context, user, token string) error {
	if err := r.rdb.HDel(ctx, r.names.PushDevices(user), token).Err(); err != nil {
		return fmt.Errorf("remove push device: %w", err)
	}
	return nil
}

// List implements Store. A stored value that no longer parses is skipped.
func (r *RedisStore) List(ctx context.Context, user string) ([]Device, error) {
	devs, err := userhash.List(ctx, r.rdb, r.names.PushDevices(user), DeviceTTL, func(d Device) bool { return d.Token != "" })
	if err != nil {
		return nil, fmt.Errorf("list push devices: %w", err)
	}
	return devs, nil
}

// Count implements Store.
func (r *RedisStore) Count(ctx context.Context, user string) (int, error) {
	n, err := r.rdb.HLen(ctx, r.names.PushDevices(user)).Result()
	if err != nil {
		return 0, fmt.Errorf("count push devices: %w", err)
	}
	return int(n), nil
}

// MemoryStore keeps devices in this process, for local runs and tests. It does not
// expire them.
type MemoryStore struct {
	mu   sync.Mutex
	devs map[string]map[string]Device // user → token → device
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{devs: map[string]map[string]Device{}} }

// Add implements Store.
func (m *MemoryStore) Add(_ context.Context, user string, d Device) (bool, error) {
	if err := d.Validate(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	byToken := m.devs[user]
	_, known := byToken[d.Token]
	if !known && len(byToken) >= MaxDevices {
		return false, ErrTooManyDevices
	}
	if byToken == nil {
		byToken = map[string]Device{}
		m.devs[user] = byToken
	}
	byToken[d.Token] = d
	return !known, nil
}

// Remove implements Store.
func (m *MemoryStore) Remove(_ context.Context, user, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.devs[user], token)
	if len(m.devs[user]) == 0 {
		delete(m.devs, user)
	}
	return nil
}

// List implements Store.
func (m *MemoryStore) List(_ context.Context, user string) ([]Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	devs := make([]Device, 0, len(m.devs[user]))
	for _, d := range m.devs[user] {
		devs = append(devs, d)
	}
	return devs, nil
}

// Count implements Store.
func (m *MemoryStore) Count(_ context.Context, user string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.devs[user]), nil
}

// Names is the key naming the store uses.
func (r *RedisStore) Names() rediskey.Names { return r.names }
