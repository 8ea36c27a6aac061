package webpush

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// addScript: KEYS[1] the user's hash. ARGV: endpoint, subscription JSON, max, TTL ms.
// Replacing a known endpoint always succeeds; a new one only under the cap.
var addScript = redis.NewScript(`#!lua
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// RedisStore keeps subscriptions in Redis. Safe for concurrent use.
type RedisStore struct {
	rdb           redis.UniversalClient
	names         rediskey.Names
	allowLoopback bool
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store over rdb; allowLoopback is Config.AllowLoopback.
func NewRedisStore(rdb redis.UniversalClient, names rediskey.Names, allowLoopback bool) *RedisStore {
	return &RedisStore{rdb: rdb, names: names, allowLoopback: allowLoopback}
}

// Add implements Store.
func (r *RedisStore) Add(ctx context.Context, user string, s Subscription) error {
	if err := s.Validate(r.allowLoopback); err != nil {
		return err
	}
	value, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode subscription: %w", err)
	}
	ok, err := addScript.Run(ctx, r.rdb, []string{r.names.PushSubscriptions(user)},
		s.Endpoint, value, MaxSubscriptions, SubscriptionTTL.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("add push subscription: %w", err)
	}
	if ok == 0 {
		return ErrTooManySubscriptions
	}
	return nil
}

// Remove implements Store.
func (r *RedisStore) Remove(ctx context.Context, user, endpoint string) error {
	if err := r.rdb.HDel(ctx, r.names.PushSubscriptions(user), endpoint).Err(); err != nil {
		return fmt.Errorf("remove push subscription: %w", err)
	}
	return nil
}

// List implements Store. A stored value that no longer parses is skipped.
func (r *RedisStore) List(ctx context.Context, user string) ([]Subscription, error) {
	key := r.names.PushSubscriptions(user)
	var all *redis.MapStringStringCmd
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, key)
		p.PExpire(ctx, key, SubscriptionTTL) // no-op when the user has none
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list push subscriptions: %w", err)
	}
	subs := make([]Subscription, 0, len(all.Val()))
	for _, v := range all.Val() {
		var s Subscription
		if json.Unmarshal([]byte(v), &s) == nil {
			subs = append(subs, s)
		}
	}
	return subs, nil
}

// MemoryStore keeps subscriptions in this process, for local runs and tests. It does
// not expire them.
type MemoryStore struct {
	allowLoopback bool
	mu            sync.Mutex
	subs          map[string]map[string]Subscription // user → endpoint → subscription
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store; allowLoopback is Config.AllowLoopback.
func NewMemoryStore(allowLoopback bool) *MemoryStore {
	return &MemoryStore{allowLoopback: allowLoopback, subs: map[string]map[string]Subscription{}}
}

// Add implements Store.
func (m *MemoryStore) Add(_ context.Context, user string, s Subscription) error {
	if err := s.Validate(m.allowLoopback); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	byEndpoint := m.subs[user]
	if _, known := byEndpoint[s.Endpoint]; !known && len(byEndpoint) >= MaxSubscriptions {
		return ErrTooManySubscriptions
	}
	if byEndpoint == nil {
		byEndpoint = map[string]Subscription{}
		m.subs[user] = byEndpoint
	}
	byEndpoint[s.Endpoint] = s
	return nil
}

// Remove implements Store.
func (m *MemoryStore) Remove(_ context.Context, user, endpoint string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.subs[user], endpoint)
	if len(m.subs[user]) == 0 {
		delete(m.subs, user)
	}
	return nil
}

// List implements Store.
func (m *MemoryStore) List(_ context.Context, user string) ([]Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	subs := make([]Subscription, 0, len(m.subs[user]))
	for _, s := range m.subs[user] {
		subs = append(subs, s)
	}
	return subs, nil
}
