package redisbroker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
)

// TestInboxStateCost measures what seen and archived state cost in Redis (MEMORY
// USAGE of each key) for a user with 200 notifications, like TestReadStateCost; the
// figures are in docs/PERFORMANCE.md. It fails when a key it expects is missing.
func TestInboxStateCost(t *testing.T) {
	t.Parallel()
	a, _, rdb, names := pair(t, broker.DefaultLimits)
	ctx := context.Background()
	var ids []string
	for i := range 200 {
		id, _, err := a.Publish(ctx, "u", fmt.Sprint("m", i), brokertest.Sample(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	usage := func(key string) int64 {
		t.Helper()
		n, err := rdb.MemoryUsage(ctx, key).Result()
		if err != nil {
			t.Fatalf("MEMORY USAGE %s: %v", key, err)
		}
		return n
	}
	if err := a.MarkSeen(ctx, "u", broker.ReadMark{All: true}); err != nil {
		t.Fatal(err)
	}
	t.Logf("seen watermark (mark all): %d B", usage(names.SeenUpTo("u", "u")))
	for _, n := range []int{1, 10, 100, 128, 129, 200} {
		rdb.Del(ctx, names.SeenIDs("u", "u"), names.Archived("u", "u"))
		if err := a.MarkSeen(ctx, "u", broker.ReadMark{IDs: ids[:n]}); err != nil {
			t.Fatal(err)
		}
		if err := a.SetArchived(ctx, "u", nil, ids[:n], true); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d ids: seen set %d B, archived set %d B", n, usage(names.SeenIDs("u", "u")), usage(names.Archived("u", "u")))
	}
}
