package redisbroker

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// RecordMembership records the groups userID's token shows, now: the user's UserGroups
// set becomes exactly groups, and the user is added to (or refreshed in) each group's
// GroupMembers set and removed from the sets of groups the token no longer shows.
// Entries not refreshed for MembershipTTL are dropped on the next write and the keys
// expire MembershipTTL after it. One read, then a plain pipeline that a cluster client
// splits by slot (each command touches one key).
func (p *Privacy) RecordMembership(ctx context.Context, userID string, groups []string) error {
	mine := p.names.UserGroups(userID)
	before, err := p.rdb.ZRange(ctx, mine, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("read %s: %w", mine, err)
	}
	if len(groups) == 0 && len(before) == 0 {
		return nil // nothing recorded, nothing to record: no write per groupless stream
	}
	now := p.now()
	score, stale := float64(now.UnixMilli()), fmt.Sprint(now.Add(-MembershipTTL).UnixMilli())
	_, err = p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for _, g := range before {
			if !slices.Contains(groups, g) {
				pl.ZRem(ctx, p.names.GroupMembers(g), userID)
				pl.ZRem(ctx, mine, g)
			}
		}
		for _, g := range groups {
			key := p.names.GroupMembers(g)
			pl.ZAdd(ctx, key, redis.Z{Score: score, Member: userID})
			pl.ZRemRangeByScore(ctx, key, "-inf", "("+stale)
			pl.PExpire(ctx, key, MembershipTTL)
			pl.ZAdd(ctx, mine, redis.Z{Score: score, Member: g})
		}
		pl.PExpire(ctx, mine, MembershipTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record membership of %s: %w", mine, err)
	}
	return nil
}
