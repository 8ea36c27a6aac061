package redisbroker

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
)

// eraseRounds bounds the SCAN-and-delete rounds of one erasure: a publish racing it can
// add keys after a round's SCAN, which the next round finds. Past this many rounds a
// publisher is still writing for the user, and the erasure fails (the message is
// redelivered and erases again).
const eraseRounds = 10

// Erased says what an erasure removed, in counts only (it is logged: no personal data).
type Erased struct {
	Keys, GroupEntries int
}

// EraseUser removes every key of userID (docs/PRIVACY.md) and then
// tells every instance to close the user's streams and room sockets. Idempotent: a
// second call finds nothing and says so.
//
// Order: the user's receipts and groups are read first (they say which group-side
// entries name the user), and those entries go first — the group receipts and
// memberships that name the user, and the user's push coalescing window, each on its
// own shard — so an erasure that fails later is retried with that list still there.
// Then the keys under the user's hash tag go, one DEL per SCAN round: the tag is one
// slot, so each DEL is atomic against the publish script, which writes the log and its
// dedupe marker together: a publish racing the erasure lands wholly before a DEL (and
// is deleted) or wholly after it (and the next round's SCAN finds it), until a round
// finds nothing.
func (p *Privacy) EraseUser(ctx context.Context, userID string) (Erased, error) {
	var out Erased
	fields, err := p.rdb.HKeys(ctx, p.names.Receipts(userID)).Result()
	if err != nil {
		return out, fmt.Errorf("read %s: %w", p.names.Receipts(userID), err)
	}
	groups, err := p.rdb.ZRange(ctx, p.names.UserGroups(userID), 0, -1).Result()
	if err != nil {
		return out, fmt.Errorf("read %s: %w", p.names.UserGroups(userID), err)
	}
	var cmds []*redis.IntCmd
	_, err = p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for _, id := range fields {
			source, pos, own, err := broker.SplitItemID(id)
			if err != nil || own || !strings.HasPrefix(source, "@") {
				continue // a mark-all watermark, or a receipt of the user's own log (deleted below)
			}
			cmds = append(cmds, pl.HDel(ctx, p.names.GroupReceipts(source, pos.String()), userID))
		}
		for _, source := range groups { // "@<group>" and "!all" (Members)
			if broker.ValidSource(source) && !broker.IsUserSource(source) {
				cmds = append(cmds, pl.ZRem(ctx, p.names.Members(source), userID), pl.ZRem(ctx, p.names.MembersSeen(source), userID))
			}
		}
		cmds = append(cmds, pl.Del(ctx, p.names.PushWindow(userID)), pl.ZRem(ctx, p.names.PushDue(), userID),
			pl.ZRem(ctx, p.names.QuietDue(), userID))
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("erase group entries: %w", err)
	}
	for _, c := range cmds {
		out.GroupEntries += int(c.Val())
	}
	for round := 0; ; round++ {
		keys, err := p.userKeys(ctx, userID)
		if err != nil {
			return out, err
		}
		if len(keys) == 0 {
			break
		}
		if round == eraseRounds {
			return out, fmt.Errorf("erase: keys keep appearing after %d rounds", eraseRounds)
		}
		n, err := p.rdb.Del(ctx, keys...).Result()
		if err != nil {
			return out, fmt.Errorf("erase %d keys: %w", len(keys), err)
		}
		out.Keys += int(n)
	}
	ctl := broker.Control{Kind: broker.ControlErase, Data: broker.EraseData(userID)}
	publish := p.rdb.Publish
	if p.names.Sharded {
		publish = p.rdb.SPublish // a shard channel on a cluster (publishCommand)
	}
	if err := publish(ctx, p.names.Channel(broker.Everyone), ctl.Payload()).Err(); err != nil {
		return out, fmt.Errorf("publish erase control: %w", err)
	}
	return out, nil
}
