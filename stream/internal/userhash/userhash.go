// Package userhash keeps a user's records of one kind (Web Push subscriptions, FCM
// devices) in one Redis hash under the user's hash tag: field the record's key, value
// its JSON, at most a cap of fields, and a TTL renewed whenever the records are written
// or read, so they live as long as they are used.
package userhash

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// putScript: KEYS[1] the hash. ARGV: field, value, cap, TTL ms. Returns 0 when a new
// field would pass the cap, 1 for a new field, 2 for a replaced one (replacing always
// succeeds).
var putScript = redis.NewScript(`#!lua
local known = redis.call('HEXISTS', KEYS[1], ARGV[1])
if known == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1 + known
`)

// Result is what Put did.
type Result int

// The results of Put.
const (
	Full Result = iota // a new field, and the hash is at its cap: nothing written
	Added
	Replaced
)

// Put stores value (encoded as JSON) at field of key, renewing key's TTL.
func Put(ctx context.Context, rdb redis.Cmdable, key, field string, value any, maxFields int, ttl time.Duration) (Result, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return Full, err
	}
	res, err := putScript.Run(ctx, rdb, []string{key}, field, data, maxFields, ttl.Milliseconds()).Int()
	return Result(res), err
}

// List returns every record of key that decodes and keep accepts (a stored value that
// no longer parses is skipped), renewing key's TTL in the same round trip.
func List[T any](ctx context.Context, rdb redis.Cmdable, key string, ttl time.Duration, keep func(T) bool) ([]T, error) {
	var all *redis.MapStringStringCmd
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, key)
		p.PExpire(ctx, key, ttl) // no-op when the user has none
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(all.Val()))
	for _, v := range all.Val() {
		var r T
		if json.Unmarshal([]byte(v), &r) == nil && keep(r) {
			out = append(out, r)
		}
	}
	return out, nil
}
