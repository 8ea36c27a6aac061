package redisbroker

// Membership (docs/PROTOCOL.md "Web Push", "FCM", "Receipts and export") is a user's
// groups as their token last showed them, recorded when a stream opens and when a
// subscription or device is registered, and forgotten 30 days after last seen: the
// audience of group push (stream/internal/audience fans out over it) and of read
// receipts. Everyone ("!all") is one more group every user belongs to. Per user, one
// sorted set under the user's hash tag remembers what was recorded (so a token that no
// longer names a group takes the user out of it); per group, two sorted sets under the
// group's tag list the members (see rediskey.Names.Members). No script touches two
// tags: a recording is one script on the user's slot and then one per group whose
// membership changed.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// MembershipTTL is how long a membership lasts after the user was last seen.
const MembershipTTL = 30 * 24 * time.Hour

// refresh is how stale a recorded membership may get before a stream open writes it
// again: most opens then cost one read-only script on the user's slot.
const refresh = time.Hour

// userScript: KEYS[1] the user's groups. ARGV now ms, forget ms, refresh ms, then the
// sources the token shows. It records them and returns {changed, removed...}: changed
// is 1 when any source is new or last recorded over refresh ago (the groups' sets need
// writing), removed lists the sources recorded before and not shown now.
var userScript = redis.NewScript(`#!lua
local now, forget, refresh = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local shown, changed = {}, 0
for i = 4, #ARGV do
  shown[ARGV[i]] = true
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not s or tonumber(s) < now - refresh then changed = 1 end
end
local out = {changed}
for _, g in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not shown[g] then
    table.insert(out, g)
    redis.call('ZREM', KEYS[1], g)
  end
end
if changed == 1 then
  for i = 4, #ARGV do redis.call('ZADD', KEYS[1], now, ARGV[i]) end
  redis.call('PEXPIRE', KEYS[1], forget)
end
return out
`)

// joinScript: KEYS members, seen. ARGV user, now ms, forget ms.
var joinScript = redis.NewScript(`#!lua
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`)

// Members records and reads membership. Safe for concurrent use.
type Members struct {
	rdb   redis.UniversalClient
	names rediskey.Names
	now   func() time.Time
}

// NewMembers returns Members over rdb; now is time.Now outside tests.
func NewMembers(rdb redis.UniversalClient, names rediskey.Names, now func() time.Time) *Members {
	return &Members{rdb: rdb, names: names, now: now}
}

// Record notes that user was seen with groups (valid group ids, as auth gives them):
// a member of each and of everyone, and no longer of a group recorded before.
func (m *Members) Record(ctx context.Context, user string, groups []string) error {
	now := m.now()
	sources := make([]any, 0, len(groups)+1)
	sources = append(sources, broker.Everyone)
	for _, g := range groups {
		sources = append(sources, broker.GroupSource(g))
	}
	args := append([]any{now.UnixMilli(), MembershipTTL.Milliseconds(), refresh.Milliseconds()}, sources...)
	res, err := userScript.Run(ctx, m.rdb, []string{m.names.UserGroups(user)}, args...).Slice()
	if err != nil || len(res) == 0 {
		return fmt.Errorf("record groups of %s: %v %w", user, res, err)
	}
	changed, _ := res[0].(int64)
	if changed == 0 && len(res) == 1 {
		return nil
	}
	// One pipeline (EVAL: a pipeline cannot fall back from EVALSHA on NOSCRIPT); on a
	// cluster client go-redis sends each slot's part to its node.
	_, err = m.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if changed == 1 {
			for _, s := range sources {
				src := s.(string)
				joinScript.Eval(ctx, p, []string{m.names.Members(src), m.names.MembersSeen(src)},
					user, now.UnixMilli(), MembershipTTL.Milliseconds())
			}
		}
		for _, r := range res[1:] {
			src, _ := r.(string)
			if broker.ValidSource(src) && !broker.IsUserSource(src) {
				p.ZRem(ctx, m.names.Members(src), user)
				p.ZRem(ctx, m.names.MembersSeen(src), user)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record members: %w", err)
	}
	return nil
}

// batchScript: KEYS members, seen. ARGV after (a user id, "" for the start), n, the
// oldest last-seen still a member (ms). Returns up to n members after `after` in id
// order, forgetting (removing) those last seen before the cutoff on the way, and as
// its last element the id to continue after ("" when the set is done).
var batchScript = redis.NewScript(`#!lua
local start = '-'
if ARGV[1] ~= '' then start = '(' .. ARGV[1] end
local ids = redis.call('ZRANGE', KEYS[1], start, '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, u in ipairs(ids) do
  local s = redis.call('ZSCORE', KEYS[2], u)
  if s and tonumber(s) >= tonumber(ARGV[3]) then
    table.insert(out, u)
  else
    redis.call('ZREM', KEYS[1], u)
    redis.call('ZREM', KEYS[2], u)
  end
end
if #ids < tonumber(ARGV[2]) then table.insert(out, '') else table.insert(out, ids[#ids]) end
return out
`)

// Batch returns up to n current members of source after the member after ("" for the
// first), in user id order, and the cursor to continue from ("" once done). A member
// added or removed during a walk is seen or not, but no member is returned twice.
func (m *Members) Batch(ctx context.Context, source, after string, n int) (users []string, next string, err error) {
	cutoff := m.now().Add(-MembershipTTL).UnixMilli()
	res, err := batchScript.Run(ctx, m.rdb, []string{m.names.Members(source), m.names.MembersSeen(source)},
		after, n, strconv.FormatInt(cutoff, 10)).StringSlice()
	if err != nil || len(res) == 0 {
		return nil, "", fmt.Errorf("members of %s: %w", broker.SourceKind(source), err)
	}
	return res[:len(res)-1], res[len(res)-1], nil
}

// Of returns every current member of source (tests and small groups).
func (m *Members) Of(ctx context.Context, source string) ([]string, error) {
	var all []string
	after := ""
	for {
		users, next, err := m.Batch(ctx, source, after, 500)
		if err != nil {
			return nil, err
		}
		all = append(all, users...)
		if next == "" {
			slices.Sort(all)
			return all, nil
		}
		after = next
	}
}
