package redisbroker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// receiptScript records first times in one receipts hash (the user's, or one group
// notification's): a field's value is "<seen ms> <read ms>", 0 for not yet, and only a
// 0 is ever replaced, so the first time stays. A read counts as seen. Then the hash
// expires at ARGV[3] (renewed only forwards).
//
// KEYS: 1 hash. ARGV: 1 now ms, 2 "1" for read / "0" for seen, 3 expire-at ms,
// 4.. fields. Returns how many fields changed.
var receiptScript = redis.NewScript(`#!lua
local now, read = ARGV[1], ARGV[2] == '1'
local changed = 0
for i = 4, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  local seen, rd = '0', '0'
  if v then
    local a, b = string.match(v, '^(%d+) (%d+)$')
    if a then seen, rd = a, b end
  end
  local ns, nr = seen, rd
  if ns == '0' then ns = now end
  if read and nr == '0' then nr = now end
  if ns ~= seen or nr ~= rd or not v then
    redis.call('HSET', KEYS[1], ARGV[i], ns .. ' ' .. nr)
    changed = changed + 1
  end
end
local at = tonumber(ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or redis.call('TIME')[1] * 1000 + ttl < at then
  redis.call('PEXPIREAT', KEYS[1], at)
end
return changed
`)

// allMarkSpan is how many of a log's newest notifications a mark of all records
// receipts for: a mark of all records each notification once (watermarkField), so a
// log gets at most this many at once, after a long absence.
const allMarkSpan = 100

// watermarkField is the receipts-hash field holding the newest position of source's log
// that a mark of all (seen or read) already recorded. Item ids never start with "~".
func watermarkField(read bool, source string) string {
	if read {
		return "~r:" + source
	}
	return "~s:" + source
}

// RecordReceipts records userID's first seen (read false) or read (read true, which
// counts as seen) time of m's notifications, now: in the user's receipts hash, and, for
// a group's notification, in that notification's receipts hash (its own step, on the
// group's shard). m follows broker.ReadMark's rules, as the broker's MarkRead and
// MarkSeen apply them: ids of logs not in m.Logs and ids the logs do not hold are
// ignored; a mark of all covers the notifications stored since the last mark of all
// (at most the newest allMarkSpan per log). Call it after the broker's mark succeeded.
func (p *Privacy) RecordReceipts(ctx context.Context, userID string, m broker.ReadMark, read bool) error {
	m, err := m.Validate()
	if err != nil {
		return err
	}
	byLog, marks, err := p.markedItems(ctx, userID, m, read)
	if err != nil {
		return err
	}
	now := p.now().UnixMilli()
	flag := "0"
	if read {
		flag = "1"
	}
	var fields []any
	for source, positions := range byLog {
		for _, pos := range positions {
			fields = append(fields, broker.ItemPrefix(source)+pos)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	userKey := p.names.Receipts(userID)
	args := append([]any{now, flag, now + p.retention.Milliseconds()}, fields...)
	if err := receiptScript.Run(ctx, p.rdb, []string{userKey}, args...).Err(); err != nil {
		return fmt.Errorf("receipts %s: %w", userKey, err)
	}
	if len(marks) > 0 {
		if err := p.rdb.HSet(ctx, userKey, marks...).Err(); err != nil {
			return fmt.Errorf("receipts %s: %w", userKey, err)
		}
	}
	if err := p.prune(ctx, userKey); err != nil {
		return err
	}
	// The group side, one script per notification (each on its group's shard), in one
	// pipeline (a cluster client splits it by node). EVAL, not EVALSHA: a pipeline cannot
	// fall back on NOSCRIPT, and Redis caches the script by its body anyway. A failure
	// here leaves the user's side recorded; a retry of the mark completes it.
	var cmds []*redis.Cmd
	_, _ = p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for source, positions := range byLog {
			if !strings.HasPrefix(source, "@") {
				continue
			}
			for _, pos := range positions {
				id, _ := rediskey.ParseStreamID(pos) // held by the log: well-formed
				at := int64(id.Ms) + p.retention.Milliseconds()
				cmds = append(cmds, receiptScript.Eval(ctx, pl, []string{p.names.GroupReceipts(source, pos)}, now, flag, at, userID))
			}
		}
		return nil
	})
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return fmt.Errorf("group receipts: %w", err)
		}
	}
	return nil
}

// markedItems returns the positions m marks per log, those the logs hold, and for a
// mark of all the watermark fields to store (field, position …).
func (p *Privacy) markedItems(ctx context.Context, userID string, m broker.ReadMark, read bool) (map[string][]string, []any, error) {
	byLog := map[string][]string{}
	if !m.All {
		for _, id := range m.IDs {
			source, pos, own, _ := broker.SplitItemID(id) // Validate checked the form
			if own {
				source = userID
			} else if !slices.Contains(m.Logs, source) {
				continue
			}
			byLog[source] = append(byLog[source], pos.String())
		}
		for source, positions := range byLog {
			held, err := p.held(ctx, source, positions)
			if err != nil {
				return nil, nil, err
			}
			byLog[source] = held
		}
		return byLog, nil, nil
	}
	sources := append([]string{userID}, m.Logs...)
	marks, err := p.rdb.HMGet(ctx, p.names.Receipts(userID), watermarks(read, sources)...).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("receipts %s: %w", p.names.Receipts(userID), err)
	}
	// One pipeline for every log's newest entries (split by node on a cluster).
	ranges := make([]*redis.XMessageSliceCmd, len(sources))
	_, _ = p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, source := range sources {
			stop := "-"
			if s, ok := marks[i].(string); ok {
				stop = "(" + s
			}
			ranges[i] = pl.XRevRangeN(ctx, p.names.Log(source), "+", stop, allMarkSpan)
		}
		return nil
	})
	var newMarks []any
	for i, source := range sources {
		entries, err := ranges[i].Result()
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", p.names.Log(source), err)
		}
		for _, e := range entries {
			byLog[source] = append(byLog[source], e.ID)
		}
		if len(entries) > 0 {
			newMarks = append(newMarks, watermarkField(read, source), entries[0].ID)
		}
	}
	return byLog, newMarks, nil
}

func watermarks(read bool, sources []string) []string {
	out := make([]string, len(sources))
	for i, s := range sources {
		out[i] = watermarkField(read, s)
	}
	return out
}

// held returns which of positions source's log holds (one pipeline on its slot).
func (p *Privacy) held(ctx context.Context, source string, positions []string) ([]string, error) {
	log := p.names.Log(source)
	ranges := make([]*redis.XMessageSliceCmd, len(positions))
	_, _ = p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, pos := range positions {
			ranges[i] = pl.XRange(ctx, log, pos, pos)
		}
		return nil
	})
	var out []string
	for i, r := range ranges {
		got, err := r.Result()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", log, err)
		}
		if len(got) > 0 {
			out = append(out, positions[i])
		}
	}
	return out, nil
}

// parseReceipt reads "<seen ms> <read ms>"; ok is false for anything else.
func parseReceipt(v string) (seen, read int64, ok bool) {
	a, b, found := strings.Cut(v, " ")
	s, err1 := strconv.ParseInt(a, 10, 64)
	r, err2 := strconv.ParseInt(b, 10, 64)
	return s, r, found && err1 == nil && err2 == nil
}

// receiptPruneAt is the size of a user's receipts hash past which a mark also drops the
// receipts of notifications older than the retention: the hash's TTL is renewed by each
// mark, so without this a user who keeps marking would keep every receipt forever.
var receiptPruneAt int64 = 2000

// prune drops from the user's receipts hash the fields of notifications created before
// the retention began (ids carry their creation ms) once it holds over receiptPruneAt
// fields: one HLEN per mark, and a full read only when over.
func (p *Privacy) prune(ctx context.Context, key string) error {
	n, err := p.rdb.HLen(ctx, key).Result()
	if err != nil || n <= receiptPruneAt {
		return err
	}
	all, err := p.rdb.HKeys(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("receipts %s: %w", key, err)
	}
	cutoff := uint64(p.now().Add(-p.retention).UnixMilli())
	var old []string
	for _, id := range all {
		if _, pos, _, err := broker.SplitItemID(id); err == nil && pos.Ms < cutoff {
			old = append(old, id)
		}
	}
	if len(old) == 0 {
		return nil
	}
	if err := p.rdb.HDel(ctx, key, old...).Err(); err != nil {
		return fmt.Errorf("receipts %s: %w", key, err)
	}
	return nil
}
