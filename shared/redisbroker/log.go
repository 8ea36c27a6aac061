package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// After returns up to limit notifications of userID's log after id, oldest first, or a
// *broker.ResetError when id cannot be resumed from. The log's state and the range are
// read in one MULTI, so trimming cannot slip between the check and the read.
func (b *Broker) After(ctx context.Context, userID, id string, limit int) ([]notification.Envelope, error) {
	key := b.names.Log(userID)
	start := "(" + id
	if _, err := broker.ParseCursor(id); err != nil {
		// The check below rejects id (malformed, or Max, which no log reaches: Redis
		// refuses "(Max" as a range start); keep the command valid.
		start = "-"
	}
	var info *redis.XInfoStreamCmd
	var rng *redis.XMessageSliceCmd
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		info = p.XInfoStream(ctx, key)
		rng = p.XRangeN(ctx, key, start, "+", int64(limit))
		return nil
	})
	st, infoErr := logState(info)
	if infoErr != nil {
		return nil, fmt.Errorf("xinfo %s: %w", key, infoErr)
	}
	if err != nil && !isNoSuchKey(err) {
		return nil, fmt.Errorf("xrange %s: %w", key, err)
	}
	if _, err := broker.CheckResume(id, st); err != nil {
		return nil, err
	}
	return envelopes(userID, rng.Val())
}

// Range returns up to limit notifications of userID's log strictly after id (a valid
// stream id), oldest first, whatever was trimmed: the history endpoint pages with it.
func (b *Broker) Range(ctx context.Context, userID, id string, limit int) ([]notification.Envelope, error) {
	if _, err := broker.ParseCursor(id); err != nil {
		return nil, fmt.Errorf("range %s: %w", userID, err)
	}
	key := b.names.Log(userID)
	msgs, err := b.rdb.XRangeN(ctx, key, "("+id, "+", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("xrange %s: %w", key, err)
	}
	return envelopes(userID, msgs)
}

// Heads returns the position of the newest entry of each source's log, read in one
// MULTI: one instant for all of them. (Its keys span hash slots: one Redis node, as
// Memorystore for Redis is; see broker.Broker.Heads.)
func (b *Broker) Heads(ctx context.Context, sources []string) ([]rediskey.StreamID, error) {
	cmds := make([]*redis.XMessageSliceCmd, len(sources))
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, source := range sources {
			cmds[i] = p.XRevRangeN(ctx, b.names.Log(source), "+", "-", 1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("heads of %d logs: %w", len(sources), err)
	}
	out := make([]rediskey.StreamID, len(sources))
	for i, c := range cmds {
		if v := c.Val(); len(v) == 1 {
			if out[i], err = rediskey.ParseStreamID(v[0].ID); err != nil {
				return nil, fmt.Errorf("head of %s: %w", b.names.Log(sources[i]), err)
			}
		}
	}
	return out, nil
}

// Latest returns the newest limit notifications of userID's log, oldest first.
func (b *Broker) Latest(ctx context.Context, userID string, limit int) ([]notification.Envelope, error) {
	key := b.names.Log(userID)
	msgs, err := b.rdb.XRevRangeN(ctx, key, "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("xrevrange %s: %w", key, err)
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return envelopes(userID, msgs)
}

func logState(info *redis.XInfoStreamCmd) (broker.LogState, error) {
	v, err := info.Result()
	if isNoSuchKey(err) {
		return broker.LogState{}, nil
	}
	if err != nil {
		return broker.LogState{}, err
	}
	st := broker.LogState{Exists: true}
	var errs [3]error
	st.LastGenerated, errs[0] = rediskey.ParseStreamID(v.LastGeneratedID)
	st.MaxDeleted, errs[1] = rediskey.ParseStreamID(v.MaxDeletedEntryID)
	if v.Length > 0 {
		st.First, errs[2] = rediskey.ParseStreamID(v.FirstEntry.ID)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return broker.LogState{}, fmt.Errorf("stream state (Redis 7 or later is required): %w", err)
	}
	return st, nil
}

func isNoSuchKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such key")
}

// envelopes parses the entries of source's log.
func envelopes(source string, msgs []redis.XMessage) ([]notification.Envelope, error) {
	prefix := broker.ItemPrefix(source)
	out := make([]notification.Envelope, 0, len(msgs))
	for _, m := range msgs {
		body, _ := m.Values["n"].(string)
		e, err := notification.ParseEnvelope(notification.WithID(prefix+m.ID, []byte(body)))
		if err != nil {
			return nil, fmt.Errorf("log entry %s: %w", m.ID, err)
		}
		out = append(out, e)
	}
	return out, nil
}
