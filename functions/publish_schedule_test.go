package notify

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// TestPublishScheduledOverHTTP: the production Publish keeps an announcement with
// send_at in the Redis schedule (under the deployment's prefix), in no log, and a
// cancel withdraws it.
func TestPublishScheduledOverHTTP(t *testing.T) {
	b := openBroker(t)
	run := runID()
	user, key := "ps-"+run, "hw-"+run
	sched := redisbroker.NewSchedule(b.Client(), rediskey.Names{Prefix: "notifications"})
	at := time.Now().Add(time.Hour).UTC()
	data := announce(t, map[string]any{"users": []string{user}}, map[string]any{"send_at": at.Format(time.RFC3339), "schedule_key": key})
	if code := deliverTo(t, publishURL, "sched-"+run, data); code != http.StatusOK {
		t.Fatalf("scheduled publish: %d", code)
	}
	if n := len(stored(t, b, user)); n != 0 {
		t.Fatalf("%s's log holds %d before send_at", user, n)
	}
	if ok, _ := b.Client().HExists(context.Background(), rediskey.Names{Prefix: "notifications"}.ScheduleItems(), broker.ScheduleKeyOf(key)).Result(); !ok {
		t.Fatal("the scheduled announcement is not in the schedule")
	}
	if code := deliverTo(t, publishURL, "cancel-"+run, []byte(`{"type":"cancel","schedule_key":"`+key+`"}`)); code != http.StatusOK {
		t.Fatalf("cancel: %d", code)
	}
	if found, err := sched.Cancel(context.Background(), broker.ScheduleKeyOf(key)); found || err != nil {
		t.Errorf("after the cancel message the item is still there (%v, %v)", found, err)
	}
}
