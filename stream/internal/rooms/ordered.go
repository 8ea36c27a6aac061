package rooms

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// OrderedAppender is a Store that publishes a stored message's frame in the same
// atomic step as it stores it, so message frames go out in id order. Append then
// Publish does not: two senders (on one instance or two) race between the steps, a
// later id is published first, and a client that keeps only ids newer than the last
// it saw (what resume with ?after= relies on) drops the earlier one.
type OrderedAppender interface {
	AppendPublish(ctx context.Context, room string, m Message) (Message, error)
}

var (
	_ OrderedAppender = (*Redis)(nil)
	_ OrderedAppender = (*Memory)(nil)
)

// AppendPublish appends and delivers under one lock, so deliveries follow ids.
func (s *Memory) AppendPublish(ctx context.Context, room string, m Message) (Message, error) {
	s.order.Lock()
	defer s.order.Unlock()
	m, err := s.Append(ctx, room, m)
	if err != nil {
		return m, err
	}
	return m, s.Publish(ctx, room, messageFrame(m))
}

// appendPublishScript is appendScript plus the frame's PUBLISH (SPUBLISH on a cluster)
// to the room's channel, KEYS[2], of the same hash tag. The frame is
// ARGV[5] .. id .. ARGV[6] .. created_at .. ARGV[7]; created_at is the id's time in
// Go's RFC 3339 form (trailing zeros of the milliseconds dropped), as messageFrame
// writes it. ARGV[8] is the publish command.
var appendPublishScript = redis.NewScript(`
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '=', 500, '*', 'u', ARGV[1], 't', ARGV[2], 'c', ARGV[3])
local ms = tonumber(string.match(id, '^(%d+)'))
redis.call('XTRIM', KEYS[1], 'MINID', tostring(ms - tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local secs = math.floor(ms / 1000)
local z = math.floor(secs / 86400) + 719468
local era = math.floor(z / 146097)
local doe = z - era * 146097
local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
local mp = math.floor((5 * doy + 2) / 153)
local d = doy - math.floor((153 * mp + 2) / 5) + 1
local m = mp < 10 and mp + 3 or mp - 9
local y = yoe + era * 400 + (m <= 2 and 1 or 0)
local sod = secs % 86400
local frac = string.gsub(string.format('%03d', ms % 1000), '0+$', '')
if frac ~= '' then frac = '.' .. frac end
local at = string.format('%04d-%02d-%02dT%02d:%02d:%02d', y, m, d, math.floor(sod / 3600), math.floor(sod % 3600 / 60), sod % 60) .. frac .. 'Z'
redis.call(ARGV[8], KEYS[2], ARGV[5] .. id .. ARGV[6] .. at .. ARGV[7])
return id`)

func (s *Redis) AppendPublish(ctx context.Context, room string, m Message) (Message, error) {
	js := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	mid := `","user":` + js(m.User) + `,"text":` + js(m.Text) + `,"client_id":` + js(m.ClientID) + `,"created_at":"`
	pub := "PUBLISH"
	if _, ok := s.rdb.(*redis.ClusterClient); ok {
		pub = "SPUBLISH"
	}
	keys := []string{s.key(room, "msgs"), s.prefix + ":{#room:" + room + "}:events"} // RedisFanout.channel
	id, err := appendPublishScript.Run(ctx, s.rdb, keys, m.User, m.Text, m.ClientID, KeepFor.Milliseconds(),
		`{"op":"message","id":"`, mid, `"}`, pub).Text()
	if err != nil {
		return Message{}, fmt.Errorf("append to room %s: %w", room, err)
	}
	m.ID, m.CreatedAt = id, idTime(id)
	return m, nil
}
