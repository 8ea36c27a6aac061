package webpush

import (
	"testing"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// TestWindowKeysMatchRediskey: erasure deletes a user's coalescing window by the names
// rediskey gives; they must be the ones the worker uses.
func TestWindowKeysMatchRediskey(t *testing.T) {
	t.Parallel()
	n := rediskey.Names{Prefix: rediskey.DefaultPrefix}
	if got, want := windowKey(n.PushQueue(), "u-42"), n.PushWindow("u-42"); got != want {
		t.Errorf("windowKey = %q, rediskey.PushWindow = %q", got, want)
	}
	if got, want := dueKey(n.PushQueue()), n.PushDue(); got != want {
		t.Errorf("dueKey = %q, rediskey.PushDue = %q", got, want)
	}
}
