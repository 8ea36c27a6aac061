package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// After returns up to limit notifications of source's log after pos, oldest first, or
// a *broker.ResetError when pos cannot be resumed from. The log's state and the range
// are read in one MULTI, so trimming cannot slip between the check and the read.
func (b *Broker) After(ctx context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error) {
	key := b.names.Log(source)
	start := "(" + pos.String()
	if pos == rediskey.Max {
		// The check below rejects Max, which no log reaches (Redis refuses "(Max" as a
		// range start); keep the command valid.
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
	if err := broker.CheckResume(pos, st); err != nil {
		return nil, err
	}
	return b.decode(ctx, source, rng.Val(), limit, b.forward(key))
}

// Range returns up to limit notifications of source's log strictly after pos (not
// rediskey.Max), oldest first, whatever was trimmed: the history endpoint pages with it.
func (b *Broker) Range(ctx context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error) {
	if err := broker.CheckRange(pos); err != nil {
		return nil, fmt.Errorf("range %s: %w", source, err)
	}
	key := b.names.Log(source)
	msgs, err := b.rdb.XRangeN(ctx, key, "("+pos.String(), "+", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("xrange %s: %w", key, err)
	}
	return b.decode(ctx, source, msgs, limit, b.forward(key))
}

// Heads returns the position of the newest entry of each source's log, all at one
// instant: in one MULTI on one Redis, by a double collect on a cluster (heads.go). See
// broker.LogReader.Heads.
func (b *Broker) Heads(ctx context.Context, sources []string) ([]rediskey.StreamID, error) {
	if b.cluster != nil {
		return b.collectHeads(ctx, sources)
	}
	return b.readHeads(ctx, b.rdb.TxPipelined, sources)
}

// readHeads reads every source's newest position in one call of run (TxPipelined for
// one instant, Pipelined for one collect).
func (b *Broker) readHeads(ctx context.Context, run func(context.Context, func(redis.Pipeliner) error) ([]redis.Cmder, error),
	sources []string) ([]rediskey.StreamID, error) {
	cmds := make([]*redis.XMessageSliceCmd, len(sources))
	_, err := run(ctx, func(p redis.Pipeliner) error {
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

// Latest returns the newest limit notifications of source's log, oldest first.
func (b *Broker) Latest(ctx context.Context, source string, limit int) ([]notification.Envelope, error) {
	key := b.names.Log(source)
	msgs, err := b.rdb.XRevRangeN(ctx, key, "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("xrevrange %s: %w", key, err)
	}
	out, err := b.decode(ctx, source, msgs, limit, func(ctx context.Context, last string, n int) ([]redis.XMessage, error) {
		return b.rdb.XRevRangeN(ctx, key, "("+last, "-", int64(n)).Result()
	})
	slices.Reverse(out)
	return out, err
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

// pageFrom reads up to n entries after the entry last, in the read's direction.
type pageFrom func(ctx context.Context, last string, n int) ([]redis.XMessage, error)

// forward reads key oldest first.
func (b *Broker) forward(key string) pageFrom {
	return func(ctx context.Context, last string, n int) ([]redis.XMessage, error) {
		return b.rdb.XRangeN(ctx, key, "("+last, "+", int64(n)).Result()
	}
}

// decode parses msgs, a page of up to limit entries of source's log, skipping (and
// logging) the entries that do not decode: one such entry must not fail every page
// that covers it (issue 23: it made history and resume answer 503 for everyone).
// When it skipped some of a full page it reads on with more, so a page is short only
// at the log's end, as callers expect; each read goes past the entries already seen,
// so this ends.
func (b *Broker) decode(ctx context.Context, source string, msgs []redis.XMessage, limit int, more pageFrom) ([]notification.Envelope, error) {
	prefix := broker.ItemPrefix(source)
	out := make([]notification.Envelope, 0, len(msgs))
	asked := limit
	for {
		for _, m := range msgs {
			body, _ := m.Values["n"].(string)
			e, err := notification.ParseEnvelope(notification.WithID(prefix+m.ID, []byte(body)))
			if err != nil {
				// Neither the body nor the error (which may quote it) is logged: the
				// position is enough to find the entry.
				b.opts.Log.Error("skipping a log entry that does not decode", "log", broker.SourceKind(source), "position", m.ID)
				continue
			}
			out = append(out, e)
		}
		if len(msgs) < asked || len(out) >= limit {
			return out, nil
		}
		asked = limit - len(out)
		var err error
		if msgs, err = more(ctx, msgs[len(msgs)-1].ID, asked); err != nil {
			return nil, fmt.Errorf("read on in %s log: %w", broker.SourceKind(source), err)
		}
	}
}
