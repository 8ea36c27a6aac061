package redisbroker

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Privacy keeps what docs/PRIVACY.md adds beside the broker: first
// seen/read times (receipts.go), group membership (members.go), a user's export
// (export.go) and erasure (erase.go). It takes a redis.UniversalClient, so it runs on
// one server and on a cluster alike: every script touches one hash tag. Safe for
// concurrent use.
type Privacy struct {
	rdb       redis.UniversalClient
	names     rediskey.Names
	retention time.Duration
	now       func() time.Time
}

// NewPrivacy returns the privacy store over rdb. Receipts live as long as the
// notifications they are about (limits.Retention).
func NewPrivacy(rdb redis.UniversalClient, names rediskey.Names, limits broker.Limits) (*Privacy, error) {
	if rdb == nil {
		return nil, errors.New("redisbroker.NewPrivacy: nil client")
	}
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	// Channels carry hash tags on a cluster, as the broker's do (New).
	_, names.Sharded = rdb.(*redis.ClusterClient)
	return &Privacy{rdb: rdb, names: names, retention: limits.Retention, now: time.Now}, nil
}

// Limits are the log limits b was built with (the privacy store's receipts live as
// long as the notifications).
func (b *Broker) Limits() broker.Limits { return b.limits }

// RecordMembership records the groups userID's token shows (Members.Record): the
// audience receipts count.
func (p *Privacy) RecordMembership(ctx context.Context, userID string, groups []string) error {
	return NewMembers(p.rdb, p.names, p.now).Record(ctx, userID, groups)
}
