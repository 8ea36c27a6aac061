package webpush

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/userhash"
)

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
	res, err := userhash.Put(ctx, r.rdb, r.names.PushSubscriptions(user), s.Endpoint, s, MaxSubscriptions, SubscriptionTTL)
	if err != nil {
		return fmt.Errorf("add push subscription: %w", err)
	}
	if res == userhash.Full {
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
	subs, err := userhash.List(ctx, r.rdb, r.names.PushSubscriptions(user), SubscriptionTTL, func(Subscription) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("list push subscriptions: %w", err)
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
