package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Redis is the Store over Redis, standalone or cluster. Every key of one room shares
// the hash tag {#room:R}, so each atomic step (append and trim, the state's
// compare-and-set, a lease) runs on one slot.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ Store = (*Redis)(nil)

// LeaseTTL is how long a socket's presence lease lives unrefreshed: a member whose
// instance dies leaves the list within it.
const LeaseTTL = 20 * time.Second

// NewRedis returns the store; prefix is the deployment's key prefix.
func NewRedis(rdb redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, now: now}
}

func (s *Redis) key(room, what string) string {
	return rediskey.Names{Prefix: s.prefix}.Room(room, what)
}

// appendScript adds a message, keeps the last 500 and the last 24 h, and keeps the
// stream 24 h past its last message. KEYS[1] stream; ARGV user, text, client id,
// retention ms.
var appendScript = redis.NewScript(`
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '=', 500, '*', 'u', ARGV[1], 't', ARGV[2], 'c', ARGV[3])
local ms = tonumber(string.match(id, '^(%d+)'))
redis.call('XTRIM', KEYS[1], 'MINID', tostring(ms - tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return id`)

func (s *Redis) Append(ctx context.Context, room string, m Message) (Message, error) {
	id, err := appendScript.Run(ctx, s.rdb, []string{s.key(room, "msgs")}, m.User, m.Text, m.ClientID, KeepFor.Milliseconds()).Text()
	if err != nil {
		return Message{}, fmt.Errorf("append to room %s: %w", room, err)
	}
	m.ID, m.CreatedAt = id, idTime(id)
	return m, nil
}

func idTime(id string) time.Time {
	sid, _ := rediskey.ParseStreamID(id)
	return time.UnixMilli(int64(sid.Ms)).UTC()
}

func toMessages(xs []redis.XMessage) []Message {
	out := make([]Message, 0, len(xs))
	for _, x := range xs {
		str := func(k string) string { v, _ := x.Values[k].(string); return v }
		out = append(out, Message{ID: x.ID, User: str("u"), Text: str("t"), ClientID: str("c"), CreatedAt: idTime(x.ID)})
	}
	return out
}

func (s *Redis) Recent(ctx context.Context, room string, n int) ([]Message, string, error) {
	k := s.key(room, "msgs")
	xs, err := s.rdb.XRevRangeN(ctx, k, "+", "-", int64(n)).Result()
	if err != nil {
		return nil, "", fmt.Errorf("recent of room %s: %w", room, err)
	}
	msgs := toMessages(xs)
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	newest := "0-0"
	if len(msgs) > 0 {
		newest = msgs[len(msgs)-1].ID
	}
	return msgs, newest, nil
}

func (s *Redis) After(ctx context.Context, room, after string) ([]Message, error) {
	id, err := rediskey.ParseStreamID(after)
	if err != nil {
		return nil, ErrReset
	}
	k := s.key(room, "msgs")
	info, err := s.rdb.XInfoStream(ctx, k).Result()
	if errors.Is(err, redis.Nil) || (err != nil && strings.Contains(err.Error(), "no such key")) {
		if id == rediskey.Zero {
			return nil, nil
		}
		return nil, ErrReset // expired with everything after id, or never existed
	}
	if err != nil {
		return nil, fmt.Errorf("resume in room %s: %w", room, err)
	}
	last, _ := rediskey.ParseStreamID(info.LastGeneratedID)
	first, _ := rediskey.ParseStreamID(info.FirstEntry.ID)
	if id.Compare(last) > 0 {
		return nil, ErrReset // unknown
	}
	// Something was trimmed and id is before what is kept: what came between may be
	// gone (conservative: Redis does not say which ids trimming removed).
	if info.EntriesAdded > info.Length && id.Compare(first) < 0 {
		return nil, ErrReset
	}
	xs, err := s.rdb.XRange(ctx, k, "("+id.String(), "+").Result()
	if err != nil {
		return nil, fmt.Errorf("resume in room %s: %w", room, err)
	}
	return toMessages(xs), nil
}

// casScript replaces the state when ARGV[1] is the current version. KEYS[1] the state
// hash; ARGV version, state, by, ttl ms. Returns {1, new version} or {0, version,
// state, by}.
var casScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur ~= tonumber(ARGV[1]) then
  local h = redis.call('HMGET', KEYS[1], 's', 'b')
  return {0, cur, h[1] or '', h[2] or ''}
end
redis.call('HSET', KEYS[1], 'v', cur + 1, 's', ARGV[2], 'b', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, cur + 1}`)

func (s *Redis) State(ctx context.Context, room string) (State, error) {
	h, err := s.rdb.HMGet(ctx, s.key(room, "state"), "v", "s", "b").Result()
	if err != nil {
		return State{}, fmt.Errorf("state of room %s: %w", room, err)
	}
	str := func(i int) string { v, _ := h[i].(string); return v }
	v, _ := strconv.ParseInt(str(0), 10, 64)
	st := State{Version: v, By: str(2)}
	if raw := str(1); raw != "" {
		st.State = json.RawMessage(raw)
	}
	return st, nil
}

func (s *Redis) SetState(ctx context.Context, room string, want State) (State, error) {
	r, err := casScript.Run(ctx, s.rdb, []string{s.key(room, "state")}, want.Version, string(want.State), want.By, KeepFor.Milliseconds()).Slice()
	if err != nil {
		return State{}, fmt.Errorf("set state of room %s: %w", room, err)
	}
	v, _ := r[1].(int64)
	if ok, _ := r[0].(int64); ok == 1 {
		return State{State: want.State, Version: v, By: want.By}, nil
	}
	cur := State{Version: v}
	if raw, _ := r[2].(string); raw != "" {
		cur.State = json.RawMessage(raw)
	}
	cur.By, _ = r[3].(string)
	return cur, ErrConflict
}

// A lease is a sorted-set member "<lease> <user> <t|s>" scored by its expiry (ms).
func leaseMember(lease string, m Member) string {
	role := "s"
	if m.Teacher {
		role = "t"
	}
	return lease + " " + m.User + " " + role
}

func (s *Redis) Join(ctx context.Context, room, lease string, m Member) error {
	k := s.key(room, "members")
	exp := s.now().Add(LeaseTTL).UnixMilli()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, k, redis.Z{Score: float64(exp), Member: leaseMember(lease, m)})
		p.PExpire(ctx, k, 2*LeaseTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("join room %s: %w", room, err)
	}
	return nil
}

// Leave removes lease from room (its member string is found by its prefix).
func (s *Redis) Leave(ctx context.Context, room, lease string) error {
	k := s.key(room, "members")
	all, err := s.rdb.ZRange(ctx, k, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("leave room %s: %w", room, err)
	}
	for _, e := range all {
		if strings.HasPrefix(e, lease+" ") {
			return s.rdb.ZRem(ctx, k, e).Err()
		}
	}
	return nil
}

func (s *Redis) Members(ctx context.Context, room string) ([]Member, error) {
	k := s.key(room, "members")
	all, err := s.rdb.ZRangeByScore(ctx, k, &redis.ZRangeBy{Min: strconv.FormatInt(s.now().UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("members of room %s: %w", room, err)
	}
	leases := map[string]Member{}
	for _, e := range all {
		f := strings.Fields(e)
		if len(f) == 3 {
			leases[f[0]] = Member{User: f[1], Teacher: f[2] == "t"}
		}
	}
	return members(leases), nil
}
