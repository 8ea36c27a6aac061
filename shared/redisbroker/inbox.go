package redisbroker

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Seen and archived state (broker.Inbox) is, per user and per log the user reads,
// three keys under the user's hash tag (rediskey SeenUpTo, SeenIDs, Archived): seen
// state is shaped like read state (a watermark "<id> <added>" and the ids seen one by
// one after it, so the unseen count is read like the unread count, with no scan), and
// archived ids are one sorted set. Nothing is written per notification.
//
// Cluster-safe by construction: a change first reads the log (its own slot: XINFO
// STREAM and one XRANGE per id, to keep only ids the log holds), then writes the
// user's keys in one MULTI (the user's slot). No step spans two slots; a notification
// published between the two steps is simply not covered by a mark of all.

// MarkSeen records that userID saw m's notifications. See broker.Inbox.MarkSeen.
func (b *Broker) MarkSeen(ctx context.Context, userID string, m broker.ReadMark) error {
	m, err := m.Validate()
	if err != nil {
		return err
	}
	if m.All {
		for _, source := range append([]string{userID}, m.Logs...) {
			if err := b.seenAll(ctx, userID, source); err != nil {
				return err
			}
		}
		return b.publishInbox(ctx, userID, broker.InboxData(broker.OpSeen, nil, true))
	}
	found, err := b.applyIDs(ctx, userID, m.Logs, m.IDs, func(p redis.Pipeliner, source string, info *redis.XInfoStream, held []string) {
		p.ZAdd(ctx, b.names.SeenIDs(userID, source), members(held)...)
		b.trim(ctx, p, b.names.SeenIDs(userID, source), info)
		p.PExpire(ctx, b.names.SeenUpTo(userID, source), b.limits.Retention)
	})
	if err != nil || len(found) == 0 {
		return err
	}
	return b.publishInbox(ctx, userID, broker.InboxData(broker.OpSeen, found, false))
}

// seenAll moves userID's seen watermark of source's log to its newest entry.
func (b *Broker) seenAll(ctx context.Context, userID, source string) error {
	info, err := b.rdb.XInfoStream(ctx, b.names.Log(source)).Result()
	if err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("seen: read %s: %w", b.names.Log(source), err)
	}
	ids, upto := b.names.SeenIDs(userID, source), b.names.SeenUpTo(userID, source)
	_, err = b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, ids)
		if info == nil || info.Length == 0 {
			p.Del(ctx, upto)
		} else {
			p.Set(ctx, upto, info.LastGeneratedID+" "+strconv.FormatInt(info.EntriesAdded, 10), b.limits.Retention)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seen: write %s: %w", upto, err)
	}
	return nil
}

// SetArchived archives or unarchives ids for userID. See broker.Inbox.SetArchived.
func (b *Broker) SetArchived(ctx context.Context, userID string, logs []string, ids []string, archived bool) error {
	ids, err := broker.ValidArchive(ids)
	if err != nil {
		return err
	}
	found, err := b.applyIDs(ctx, userID, logs, ids, func(p redis.Pipeliner, source string, info *redis.XInfoStream, held []string) {
		key := b.names.Archived(userID, source)
		if archived {
			p.ZAdd(ctx, key, members(held)...)
		} else {
			p.ZRem(ctx, key, anys(held)...)
		}
		b.trim(ctx, p, key, info)
	})
	if err != nil || len(found) == 0 {
		return err
	}
	op := broker.OpArchive
	if !archived {
		op = broker.OpUnarchive
	}
	return b.publishInbox(ctx, userID, broker.InboxData(op, found, false))
}

// applyIDs groups ids by log (own, or one of logs; others are ignored), keeps those
// the log holds, and for each log with any runs write in one MULTI. It returns the
// notification ids applied to.
func (b *Broker) applyIDs(ctx context.Context, userID string, logs, ids []string,
	write func(p redis.Pipeliner, source string, info *redis.XInfoStream, held []string)) ([]string, error) {
	byLog := map[string][]string{}
	var order []string
	for _, id := range ids {
		source, pos, own, _ := broker.SplitItemID(id) // validated by the caller
		if own {
			source = userID
		} else if !slices.Contains(logs, source) {
			continue
		}
		if _, ok := byLog[source]; !ok {
			order = append(order, source)
		}
		byLog[source] = append(byLog[source], pos.String())
	}
	var found []string
	for _, source := range order {
		info, held, err := b.held(ctx, source, byLog[source])
		if err != nil {
			return found, err
		}
		if len(held) == 0 {
			continue
		}
		if _, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			write(p, source, info, held)
			return nil
		}); err != nil {
			return found, fmt.Errorf("inbox state of %s for %s: %w", b.names.Log(source), userID, err)
		}
		for _, pos := range held {
			found = append(found, broker.ItemPrefix(source)+pos)
		}
	}
	return found, nil
}

// held reads source's log state and which of positions it holds, in one pipeline on
// the log's slot.
func (b *Broker) held(ctx context.Context, source string, positions []string) (*redis.XInfoStream, []string, error) {
	log := b.names.Log(source)
	var info *redis.XInfoStreamCmd
	ranges := make([]*redis.XMessageSliceCmd, len(positions))
	_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		info = p.XInfoStream(ctx, log)
		for i, pos := range positions {
			ranges[i] = p.XRange(ctx, log, pos, pos)
		}
		return nil
	})
	v, err := info.Result()
	if isNoSuchKey(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", log, err)
	}
	var held []string
	for i, r := range ranges {
		got, err := r.Result()
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", log, err)
		}
		if len(got) > 0 {
			held = append(held, positions[i])
		}
	}
	return v, held, nil
}

// trim drops from the sorted set key the ids older than the log's first entry (they
// left the log) and renews its TTL with the log's retention.
func (b *Broker) trim(ctx context.Context, p redis.Pipeliner, key string, info *redis.XInfoStream) {
	if first, err := rediskey.ParseStreamID(info.FirstEntry.ID); err == nil {
		p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatUint(first.Ms, 10))
	}
	p.PExpire(ctx, key, b.limits.Retention)
}

// publishInbox sends an inbox control with data to userID's streams.
func (b *Broker) publishInbox(ctx context.Context, userID string, data []byte) error {
	ctl := broker.Control{Kind: broker.ControlInbox, Data: data}
	if err := b.publishTo(ctx, b.rdb, b.names.Channel(userID), ctl.Payload()).Err(); err != nil {
		return fmt.Errorf("publish inbox control: %w", err)
	}
	return nil
}

// members are sorted-set members for log positions, scored by their milliseconds.
func members(positions []string) []redis.Z {
	out := make([]redis.Z, 0, len(positions))
	for _, pos := range positions {
		id, _ := rediskey.ParseStreamID(pos) // held by the log: well-formed
		out = append(out, redis.Z{Score: float64(id.Ms), Member: pos})
	}
	return out
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
