package fcm

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// addScript: KEYS[1] the user's device hash. ARGV: token, device JSON, max, TTL ms.
// Returns 0 when over the cap, 1 when the token is new, 2 when it was known. One key:
// runs on Redis Cluster.
var addScript = redis.NewScript(`#!lua
local known = redis.call('HEXISTS', KEYS[1], ARGV[1])
if known == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1 + known
`)

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
	value, err := json.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("encode device: %w", err)
	}
	res, err := addScript.Run(ctx, r.rdb, []string{r.names.PushDevices(user)},
		d.Token, value, MaxDevices, DeviceTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("add push device: %w", err)
	}
	if res == 0 {
		return false, ErrTooManyDevices
	}
	return res == 1, nil
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
	key := r.names.PushDevices(user)
	var all *redis.MapStringStringCmd
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, key)
		p.PExpire(ctx, key, DeviceTTL) // no-op when the user has none
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list push devices: %w", err)
	}
	devs := make([]Device, 0, len(all.Val()))
	for _, v := range all.Val() {
		var d Device
		if json.Unmarshal([]byte(v), &d) == nil && d.Token != "" {
			devs = append(devs, d)
		}
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
