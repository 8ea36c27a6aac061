package redisbroker

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
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
// So the unread count is (entries after the watermark) − |ReadIDs|, from XINFO STREAM,
// one GET and the set's members: O(1) reads plus the set, which is never larger than
// the unread-then-read entries of the log (usually empty after a mark of all).

// markScript records a mark and publishes the read control. The shebang makes Redis
// refuse it whole when out of memory.
//
// KEYS: 1 log, 2 read ids, 3 read up to. ARGV: 1 retention ms, 2 channel (empty: publish
// nothing), 3 "all" or "ids", 4 the prefix of the log's notification ids
// (broker.ItemPrefix), 5… the ids' log positions (well-formed stream ids, checked by
// the caller).
// Returns how many of the ids the log holds (1 for all).
var markScript = redis.NewScript(`#!lua
local function parse(id)
  local d = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, d - 1)), tonumber(string.sub(id, d + 1))
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local function num(n) return string.format('%.0f', n) end
-- drop the read ids before id, or up to it when incl
local function drop(id, incl)
  local ms, seq = parse(id)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. num(ms))
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], num(ms), num(ms))) do
    local _, s = parse(m)
    if s < seq or (incl and s == seq) then redis.call('ZREM', KEYS[2], m) end
  end
end

local info = {}
if redis.call('EXISTS', KEYS[1]) == 1 then
  local raw = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #raw, 2 do info[raw[i]] = raw[i + 1] end
end
local len = info['length'] or 0
local upto = redis.call('GET', KEYS[3])
local w, wadded
if upto then
  local sp = string.find(upto, ' ', 1, true)
  w, wadded = string.sub(upto, 1, sp - 1), tonumber(string.sub(upto, sp + 1))
end

if ARGV[3] == 'all' then
  redis.call('DEL', KEYS[2])
  if len > 0 then
    redis.call('SET', KEYS[3], info['last-generated-id'] .. ' ' .. num(info['entries-added']), 'PX', ARGV[1])
  else
    redis.call('DEL', KEYS[3])
  end
  if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], '{"ctl":"read","data":{"all":true}}') end
  return 1
end

if len == 0 then return 0 end
local found = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  if #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    found[#found + 1] = ARGV[4] .. id
    if not w or less(w, id) then
      local ms = parse(id)
      redis.call('ZADD', KEYS[2], num(ms), id)
    end
  end
end
if #found == 0 then return 0 end

local first, last = info['first-entry'][1], info['last-generated-id']
drop(first, false)
if w then drop(w, true) end
local after
if not w or less(w, first) then
  after = len
elseif not less(w, last) then
  after = 0
else
  after = math.min(len, info['entries-added'] - wadded)
end
if after - redis.call('ZCARD', KEYS[2]) <= 0 then
  redis.call('SET', KEYS[3], last .. ' ' .. num(info['entries-added']), 'PX', ARGV[1])
  redis.call('DEL', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], '{"ctl":"read","data":{"ids":["' .. table.concat(found, '","') .. '"]}}')
end
return #found
`)

// MarkRead records that userID has read m's notifications and publishes the read
// control on userID's channel: one script per log the mark touches, the user's own log
// last for a mark of all (so the control follows every log's mark). See
// broker.Broker.MarkRead. A group's or the broadcast log's script reads that log and
// writes the user's keys, two hash slots: fine on one Redis node (Memorystore for
// Redis); Redis Cluster would need the log check moved out of the script.
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
	byLog := map[string][]any{}
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

// mark runs markScript for userID's read state of source's log.
func (b *Broker) mark(ctx context.Context, userID, source, channel, kind string, positions []any) error {
	keys := b.readKeys(userID, source)
	args := append([]any{b.limits.Retention.Milliseconds(), channel, kind, broker.ItemPrefix(source)}, positions...)
	if err := markScript.Run(ctx, b.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("read script for %s: %w", keys[0], err)
	}
	return nil
}

// readKeys are source's log and userID's read state of it (ReadIDs, ReadUpTo).
func (b *Broker) readKeys(userID, source string) []string {
	if source == userID {
		return []string{b.names.Log(userID), b.names.ReadIDs(userID), b.names.ReadUpTo(userID)}
	}
	return []string{b.names.Log(source), b.names.ReadIDsIn(userID, source), b.names.ReadUpToIn(userID, source)}
}
