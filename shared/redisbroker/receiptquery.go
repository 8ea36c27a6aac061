package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
)

// ErrNoGroupNotification is returned by Receipts for an id that is not a group
// notification its log still holds (the caller's 404).
var ErrNoGroupNotification = errors.New("no such group notification")

// Receipt is one member's first seen and read times (zero for not yet).
type Receipt struct {
	User           string
	SeenAt, ReadAt time.Time
}

// ReceiptReport answers GET /api/v1/receipts: the audience (members the group's tokens
// showed within MembershipTTL), how many saw and read the notification, and one page of
// readers (by user id), with Next the cursor of the next page ("" on the last).
type ReceiptReport struct {
	Audience, Seen, Read int
	Readers              []Receipt
	Next                 string
}

// MaxReceiptPage is the most readers one page carries.
const MaxReceiptPage = 1000

// GroupOf returns the group a notification id belongs to, or "" for an id of any
// other log (a user's own, the broadcast log) or a malformed one.
func GroupOf(itemID string) string {
	source, _, own, err := broker.SplitItemID(itemID)
	if err != nil || own {
		return ""
	}
	g, _ := strings.CutPrefix(source, "@")
	if g == source {
		return ""
	}
	return g
}

// Receipts reports the receipts of the group notification itemID: readers after the
// user id after (exclusive; "" from the start), at most limit (1–MaxReceiptPage). The
// counts cover every reader. ErrNoGroupNotification when the group's log does not hold
// it. Two reads on the group's shard: the log and receipts, then the member count.
func (p *Privacy) Receipts(ctx context.Context, itemID, after string, limit int) (ReceiptReport, error) {
	group := GroupOf(itemID)
	if group == "" {
		return ReceiptReport{}, ErrNoGroupNotification
	}
	_, pos, _, _ := broker.SplitItemID(itemID)
	source := broker.GroupSource(group)
	limit = min(max(limit, 1), MaxReceiptPage)
	var held *redis.XMessageSliceCmd
	var all *redis.MapStringStringCmd
	var audience *redis.IntCmd
	since := p.now().Add(-MembershipTTL).UnixMilli()
	_, _ = p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		held = pl.XRange(ctx, p.names.Log(source), pos.String(), pos.String())
		all = pl.HGetAll(ctx, p.names.GroupReceipts(source, pos.String()))
		audience = pl.ZCount(ctx, p.names.MembersSeen(source), fmt.Sprint(since), "+inf")
		return nil
	})
	entries, err := held.Result()
	if err == nil {
		err = all.Err()
	}
	if err == nil {
		err = audience.Err()
	}
	if err != nil {
		return ReceiptReport{}, fmt.Errorf("receipts of %s: %w", itemID, err)
	}
	if len(entries) == 0 {
		return ReceiptReport{}, ErrNoGroupNotification
	}
	rep := ReceiptReport{Audience: int(audience.Val())}
	var readers []Receipt
	for user, v := range all.Val() {
		seen, read, ok := parseReceipt(v)
		if !ok {
			continue
		}
		r := Receipt{User: user}
		if seen > 0 {
			r.SeenAt, rep.Seen = time.UnixMilli(seen).UTC(), rep.Seen+1
		}
		if read > 0 {
			r.ReadAt, rep.Read = time.UnixMilli(read).UTC(), rep.Read+1
		}
		readers = append(readers, r)
	}
	slices.SortFunc(readers, func(a, b Receipt) int { return strings.Compare(a.User, b.User) })
	start, _ := slices.BinarySearchFunc(readers, after, func(r Receipt, u string) int { return strings.Compare(r.User, u) })
	if after != "" && start < len(readers) && readers[start].User == after {
		start++
	}
	end := min(start+limit, len(readers))
	rep.Readers = readers[start:end]
	if end < len(readers) {
		rep.Next = readers[end-1].User
	}
	// A reader whose membership was forgotten (or never recorded) still read it: the
	// audience is never smaller than the readers.
	rep.Audience = max(rep.Audience, len(readers))
	return rep, nil
}
