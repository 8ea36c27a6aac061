package redisbroker

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// InboxState reports userID's seen and archived state of ids and the unseen count of
// userID's own log and of logs, from one pipeline (per log: XINFO STREAM, the seen
// watermark, the seen ids, the archived ids). It is a plain pipeline, not a MULTI, so
// that in a cluster it splits by slot; the answer is as consistent as ReadState's
// across logs. See broker.Inbox.InboxState.
func (b *Broker) InboxState(ctx context.Context, userID string, logs []string, ids []string) (broker.InboxState, error) {
	sources := append([]string{userID}, logs...)
	seen := make([]readCmds, len(sources))
	archived := make([]*redis.StringSliceCmd, len(sources))
	// Errors are read from each command below (a missing log or watermark is not one).
	_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, source := range sources {
			seen[i] = readCmds{
				info:    p.XInfoStream(ctx, b.names.Log(source)),
				upto:    p.Get(ctx, b.names.SeenUpTo(userID, source)),
				members: p.ZRange(ctx, b.names.SeenIDs(userID, source), 0, -1),
			}
			archived[i] = p.ZRange(ctx, b.names.Archived(userID, source), 0, -1)
		}
		return nil
	})
	st := broker.InboxState{Seen: make([]bool, len(ids)), Archived: make([]bool, len(ids))}
	for i, source := range sources {
		var at []int // the indexes of ids of this log
		var pos []rediskey.StreamID
		for j, id := range ids {
			s, p, own, err := broker.SplitItemID(id)
			if err == nil && (own && source == userID || !own && s == source) {
				at, pos = append(at, j), append(pos, p)
			}
		}
		got, n, err := seen[i].state(pos)
		if err == nil {
			err = archived[i].Err()
		}
		if err != nil {
			return broker.InboxState{}, fmt.Errorf("inbox state of %s: %w", b.names.Log(source), err)
		}
		set := map[string]bool{}
		for _, m := range archived[i].Val() {
			set[m] = true
		}
		// got[k] is false for ids the log no longer holds; an archived id it no longer
		// holds may linger in the set until the next change trims it.
		held := heldIn(seen[i].info, pos)
		for k, j := range at {
			st.Seen[j] = got[k]
			st.Archived[j] = held[k] && set[pos[k].String()]
		}
		st.Unseen += n
	}
	return st, nil
}

// heldIn reports which of ids lie in the log info describes (first to last entry).
func heldIn(info *redis.XInfoStreamCmd, ids []rediskey.StreamID) []bool {
	out := make([]bool, len(ids))
	v, err := info.Result()
	if err != nil || v.Length == 0 {
		return out
	}
	first, err1 := rediskey.ParseStreamID(v.FirstEntry.ID)
	last, err2 := rediskey.ParseStreamID(v.LastGeneratedID)
	if err1 != nil || err2 != nil {
		return out
	}
	for i, id := range ids {
		out[i] = id.Compare(first) >= 0 && id.Compare(last) <= 0
	}
	return out
}
