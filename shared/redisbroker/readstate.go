package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// ReadState reports which of ids userID read and how many notifications of userID's
// own log and of logs are not, from one MULTI on one Redis (per log: XINFO STREAM, the
// watermark, the read ids, the exceptions to the watermark). On a cluster the logs span slots and masters: one pipeline
// per master, each log's reads current when they run; a mark racing the read shows in
// the next one, as it would had it come a moment later. See broker.Reads.ReadState.
func (b *Broker) ReadState(ctx context.Context, userID string, logs []string, ids []string) ([]bool, int, error) {
	sources := append([]string{userID}, logs...)
	cmds := make([]readCmds, len(sources))
	// Errors are read from each command below (a missing log or watermark is not one).
	_, _ = b.atOnce(ctx, func(p redis.Pipeliner) error {
		for i, source := range sources {
			k := b.readKeys(userID, source)
			cmds[i] = readCmds{info: p.XInfoStream(ctx, k[0]), upto: p.Get(ctx, k[2]), members: p.ZRange(ctx, k[1], 0, -1),
				unread: p.ZRange(ctx, k[3], 0, -1)}
		}
		return nil
	})
	read := make([]bool, len(ids))
	unread := 0
	for i, source := range sources {
		var at []int // the indexes of ids of this log
		var pos []rediskey.StreamID
		for j, id := range ids {
			s, p, own, err := broker.SplitItemID(id)
			if err == nil && (own && source == userID || !own && s == source) {
				at, pos = append(at, j), append(pos, p)
			}
		}
		got, n, err := cmds[i].state(pos)
		if err != nil {
			return nil, 0, fmt.Errorf("read state of %s: %w", b.readKeys(userID, source)[0], err)
		}
		for k, j := range at {
			read[j] = got[k]
		}
		unread += n
	}
	return read, unread, nil
}

// readCmds are the replies ReadState reads one log's read state from.
type readCmds struct {
	info    *redis.XInfoStreamCmd
	upto    *redis.StringCmd
	members *redis.StringSliceCmd
	unread  *redis.StringSliceCmd // exceptions to the watermark (UnreadIDs); nil for seen state
}

// state reports which of ids (positions in the log) are read, and how many entries of
// the log are not.
func (c readCmds) state(ids []rediskey.StreamID) ([]bool, int, error) {
	read := make([]bool, len(ids))
	v, err := c.info.Result()
	if isNoSuchKey(err) {
		return read, 0, nil // no log: nothing held, nothing unread
	}
	if err != nil {
		return nil, 0, err
	}
	var exceptions []string
	if c.unread != nil {
		exceptions = c.unread.Val()
		if err := c.unread.Err(); err != nil {
			return nil, 0, err
		}
	}
	if err := c.members.Err(); err != nil {
		return nil, 0, err
	}
	if v.Length == 0 {
		return read, 0, nil
	}
	first, err1 := rediskey.ParseStreamID(v.FirstEntry.ID)
	last, err2 := rediskey.ParseStreamID(v.LastGeneratedID)
	w, wAdded, hasW, err3 := parseUpTo(c.upto)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, 0, err
	}
	var after int64
	switch {
	case !hasW || w.Compare(first) < 0:
		after = v.Length
	case w.Compare(last) >= 0:
		after = 0
	default:
		after = min(v.Length, v.EntriesAdded-wAdded)
	}
	// Members the log no longer holds, or the watermark covers, may linger until the
	// next mark drops them: count only the others.
	readIDs := map[rediskey.StreamID]bool{}
	for _, m := range c.members.Val() {
		id, err := rediskey.ParseStreamID(m)
		if err == nil && id.Compare(first) >= 0 && (!hasW || id.Compare(w) > 0) {
			readIDs[id] = true
		}
	}
	// Exceptions count only while held and under the watermark (one the watermark left
	// behind, w older than the log, covers nothing: after already counts it).
	unreadIDs := map[rediskey.StreamID]bool{}
	for _, m := range exceptions {
		id, err := rediskey.ParseStreamID(m)
		if err == nil && id.Compare(first) >= 0 && hasW && id.Compare(w) <= 0 && id.Compare(last) <= 0 {
			unreadIDs[id] = true
		}
	}
	for i, id := range ids {
		held := id.Compare(first) >= 0 && id.Compare(last) <= 0
		read[i] = held && (hasW && id.Compare(w) <= 0 && !unreadIDs[id] || readIDs[id])
	}
	return read, int(max(0, after-int64(len(readIDs))+int64(len(unreadIDs)))), nil
}

// parseUpTo reads the ReadUpTo value "<id> <added>"; ok is false when there is none.
func parseUpTo(cmd *redis.StringCmd) (id rediskey.StreamID, added int64, ok bool, err error) {
	s, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return id, 0, false, nil
	}
	if err != nil {
		return id, 0, false, err
	}
	idText, addedText, _ := strings.Cut(s, " ")
	id, err = rediskey.ParseStreamID(idText)
	if err == nil {
		added, err = strconv.ParseInt(addedText, 10, 64)
	}
	if err != nil {
		return id, 0, false, fmt.Errorf("read watermark %q: %w", s, err)
	}
	return id, added, true, nil
}
