package redisbroker

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Read state is two keys beside the user's log, under its hash tag, living as long as it
// (the write script renews their TTL with the log's, and so does every mark):
//
//   - ReadUpTo, a string "<id> <added>": every entry up to id is read (a mark of all, or
//     every entry read one by one); added is the log's entries-added count then. The
//     log only ever loses its oldest entries, so while id is inside the log the entries
//     after it number exactly entries-added now − added: the unread count needs no scan.
//   - ReadIDs, a sorted set of the entries read one by one after id (score: the id's
//     milliseconds, member: the id). A mark adds only ids the log holds, drops members
//     the log no longer holds (older than its first entry) or the watermark covers, and
//     when nothing is left unread folds everything into ReadUpTo and deletes the set.
//
//   - UnreadIDs, a sorted set of the entries the watermark covers that were made unread
//     again (POST …/unread, unread.go): exceptions to the watermark. A mark of one of
//     them, or of all, removes it; trimmed ones are dropped as ReadIDs' are.
//
// So the unread count is (entries after the watermark) − |ReadIDs| + |UnreadIDs held|,
// from XINFO STREAM, one GET and the sets' members: O(1) reads plus the sets, which are
// never larger than the entries read (or unread) one by one (usually empty after a mark
// of all).

// A mark is two steps: the log's state and which of the ids it holds are read in one
// MULTI on the log's slot (snapshot), then markScript writes the user's read state in
// the user's slot. They are different slots for a group's or the broadcast log (and on
// a cluster, different masters), and no atomic step may span two. The mark is then
// exactly the mark that would have run atomically at the snapshot: entries stored after
// it stay unread, entries trimmed after it are dropped by a later mark. Two marks racing
// may run their scripts in the opposite order of their snapshots, so the script never
// moves the watermark back: an older snapshot than the watermark changes nothing.

// luaStreamIDs are the stream-id helpers the read-state scripts share: parse an id
// into its two numbers, compare two ids, print a number without an exponent.
const luaStreamIDs = `local function parse(id)
  local d = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, d - 1)), tonumber(string.sub(id, d + 1))
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local function num(n) return string.format('%.0f', n) end
`

// markScript records a mark and publishes the read control. The shebang makes Redis
// refuse it whole when out of memory.
//
// KEYS: 1 read ids, 2 read up to, 3 unread ids. ARGV: 1 retention ms, 2 channel
// (empty: publish nothing), 3 "all" or "ids", 4 the publish command (publishCommand),
// 5 the control, 6 the log's length, 7 its first entry's id, 8 its last generated id,
// 9 its entries-added count (at the snapshot), 10… the positions of the ids the log
// held.
// Returns 1.
var markScript = redis.NewScript("#!lua\n" + luaStreamIDs + `-- drop the ids of set key (default: the read ids) before id, or up to it when incl
local function drop(id, incl, key)
  key = key or KEYS[1]
  local ms, seq = parse(id)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. num(ms))
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, num(ms), num(ms))) do
    local _, s = parse(m)
    if s < seq or (incl and s == seq) then redis.call('ZREM', key, m) end
  end
end
-- how many read ids are at or before id
local function count(id)
  local ms, seq = parse(id)
  local n = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. num(ms))
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], num(ms), num(ms))) do
    local _, s = parse(m)
    if s <= seq then n = n + 1 end
  end
  return n
end
local function publish()
  if ARGV[2] ~= '' then redis.call(ARGV[4], ARGV[2], ARGV[5]) end
  return 1
end

local len, first, last, added = tonumber(ARGV[6]), ARGV[7], ARGV[8], tonumber(ARGV[9])
local upto = redis.call('GET', KEYS[2])
local w, wadded
if upto then
  local sp = string.find(upto, ' ', 1, true)
  w, wadded = string.sub(upto, 1, sp - 1), tonumber(string.sub(upto, sp + 1))
end
-- A mark reads again what it covers that was made unread under the watermark (see
-- unread.go), before anything else: even a mark the watermark already covers does.
if len > 0 then
  if ARGV[3] == 'all' then
    drop(last, true, KEYS[3])
  else
    for i = 10, #ARGV do redis.call('ZREM', KEYS[3], ARGV[i]) end
    drop(first, false, KEYS[3])
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
if len == 0 or (w and not less(w, last)) then
  -- an empty log has nothing to mark; a watermark at or past the snapshot's newest
  -- entry already covers everything it held
  return publish()
end

if ARGV[3] == 'all' then
  drop(last, true)
  redis.call('SET', KEYS[2], last .. ' ' .. num(added), 'PX', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return publish()
end

for i = 10, #ARGV do
  if not w or less(w, ARGV[i]) then
    local ms = parse(ARGV[i])
    redis.call('ZADD', KEYS[1], num(ms), ARGV[i])
  end
end
drop(first, false)
if w then drop(w, true) end
local after
if not w or less(w, first) then
  after = len
else
  after = math.min(len, added - wadded)
end
-- only the read ids the snapshot held count against its unread entries
if after - count(last) <= 0 then
  drop(last, true)
  redis.call('SET', KEYS[2], last .. ' ' .. num(added), 'PX', ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return publish()
`)

// MarkRead records that userID has read m's notifications and publishes the read
// control on userID's channel: one mark per log the mark touches, the user's own log
// last for a mark of all (so the control follows every log's mark). See
// broker.Reads.MarkRead.
func (b *Broker) MarkRead(ctx context.Context, userID string, m broker.ReadMark) error {
	m, err := m.Validate()
	if err != nil {
		return err
	}
	channel := b.names.Channel(userID)
	if m.All {
		for _, source := range m.Logs {
			if err := b.mark(ctx, userID, source, "", "all", nil); err != nil {
				return err
			}
		}
		return b.mark(ctx, userID, userID, channel, "all", nil)
	}
	byLog := map[string][]string{}
	order := []string{userID}
	for _, id := range m.IDs {
		source, pos, own, _ := broker.SplitItemID(id) // Validate checked the form
		if own {
			source = userID
		} else if !slices.Contains(m.Logs, source) {
			continue
		}
		if _, ok := byLog[source]; !ok && !own {
			order = append(order, source)
		}
		byLog[source] = append(byLog[source], pos.String())
	}
	for _, source := range order {
		if len(byLog[source]) > 0 {
			if err := b.mark(ctx, userID, source, channel, "ids", byLog[source]); err != nil {
				return err
			}
		}
	}
	return nil
}

// mark records userID's mark of source's log: a snapshot of the log, then markScript.
func (b *Broker) mark(ctx context.Context, userID, source, channel, kind string, positions []string) error {
	keys := b.readKeys(userID, source)
	snap, found, err := b.snapshot(ctx, keys[0], positions)
	if err != nil {
		return fmt.Errorf("read mark of %s: %w", keys[0], err)
	}
	all := kind == "all"
	if !all && len(found) == 0 {
		return nil // nothing held: nothing to record or tell
	}
	ids := make([]string, len(found))
	for i, pos := range found {
		ids[i] = broker.ItemPrefix(source) + pos
	}
	ctl := broker.Control{Kind: broker.ControlRead, Data: broker.ReadData(ids, all)}
	args := []any{b.limits.Retention.Milliseconds(), channel, kind, b.publishCommand(), ctl.Payload(),
		snap.length, snap.first.String(), snap.last.String(), snap.added}
	for _, pos := range found {
		args = append(args, pos)
	}
	if err := markScript.Run(ctx, b.rdb, keys[1:], args...).Err(); err != nil {
		return fmt.Errorf("read script for %s: %w", keys[0], err)
	}
	return nil
}

// logSnapshot is a log's state at one instant.
type logSnapshot struct {
	length, added int64             // entries held, and ever added
	first, last   rediskey.StreamID // the first entry held and the last generated; Zero when empty
}

// snapshot reads log's state and which of positions it holds, in one MULTI on its slot.
func (b *Broker) snapshot(ctx context.Context, log string, positions []string) (logSnapshot, []string, error) {
	var info *redis.XInfoStreamCmd
	ranges := make([]*redis.XMessageSliceCmd, len(positions))
	_, _ = b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		info = p.XInfoStream(ctx, log)
		for i, pos := range positions {
			ranges[i] = p.XRange(ctx, log, pos, pos)
		}
		return nil
	})
	var snap logSnapshot
	v, err := info.Result()
	if isNoSuchKey(err) {
		return snap, nil, nil
	}
	if err != nil {
		return snap, nil, err
	}
	snap.length, snap.added = v.Length, v.EntriesAdded
	if snap.last, err = rediskey.ParseStreamID(v.LastGeneratedID); err != nil {
		return snap, nil, err
	}
	if v.Length > 0 {
		if snap.first, err = rediskey.ParseStreamID(v.FirstEntry.ID); err != nil {
			return snap, nil, err
		}
	}
	var found []string
	for i, r := range ranges {
		if err := r.Err(); err != nil {
			return snap, nil, err
		}
		if len(r.Val()) > 0 {
			found = append(found, positions[i])
		}
	}
	return snap, found, nil
}

// readKeys are source's log and userID's read state of it (ReadIDs, ReadUpTo,
// UnreadIDs).
func (b *Broker) readKeys(userID, source string) []string {
	unread := b.names.UnreadIDs(userID, source)
	if source == userID {
		return []string{b.names.Log(userID), b.names.ReadIDs(userID), b.names.ReadUpTo(userID), unread}
	}
	return []string{b.names.Log(source), b.names.ReadIDsIn(userID, source), b.names.ReadUpToIn(userID, source), unread}
}
