package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// TestStoreCapacity measures what Redis holds per stored notification (log entry +
// dedupe marker, as the function's script writes them) and per idle connected user
// (presence and pub/sub subscription, through a real bin/stream), then prints how many
// users fit in Memorystore's 1 GB and 5 GB at the plan's 50 % memory target.
// docs/RELIABILITY.md ("Capacity of the store") quotes its output:
//
//	go test -count=1 -run StoreCapacity -v ./system/faults
func TestStoreCapacity(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()

	// Stored notifications: 200 users × 50 realistic job notifications.
	const users, each = 200, 50
	p := newPublisher(t, rs.Addr)
	before := usedMemory(t, rdb)
	for u := range users {
		for i := range each {
			n := notification.Job{RequestID: fmt.Sprintf("0b9f5c1e-7d1a-4c53-9a55-%012d", u*each+i), UserID: "x",
				Status: notification.StatusCompleted, Title: "Photosynthesis in 3 minutes",
				VideoURL: fmt.Sprintf("https://storage.googleapis.com/vividly-content-prod/videos/%08d.mp4", i)}.Notification(time.Now())
			user := fmt.Sprintf("6f1c2a8e-3b7d-4e0f-9c1a-%012d", u)
			if _, _, err := p.b.Publish(ctx, user, strconv.Itoa(12165864188103151+u*each+i), n); err != nil {
				t.Fatal(err)
			}
		}
	}
	stored := usedMemory(t, rdb)
	perNotification := float64(stored-before) / (users * each)
	// Dedupe markers expire after 25 h, log entries after 30 days: weigh them apart.
	markers, err := rdb.Keys(ctx, "*seen*").Result()
	if err != nil || len(markers) != users*each {
		t.Fatalf("%d dedupe markers (err %v); want one per notification", len(markers), err)
	}
	if err := rdb.Del(ctx, markers...).Err(); err != nil {
		t.Fatal(err)
	}
	perMarker := float64(stored-usedMemory(t, rdb)) / (users * each)
	perEntry := perNotification - perMarker

	// Idle connected users: one stream each, through a real process.
	const idle = 1000
	proc := startProcess(t, rs.Addr, nil)
	before = usedMemory(t, rdb)
	// Tokens without groups, as when these figures were first taken (each group a
	// connected user is in adds a shared subscription, not a per-user one).
	f := openTabsWith(t, idle, 1, func(tb *tab) { tb.groups = nil },
		func(ctx context.Context, tb *tab) { tb.run(ctx, func() string { return proc.url }, time.Hour) })
	time.Sleep(500 * time.Millisecond) // presence and SUBSCRIBE land
	perUser := float64(usedMemory(t, rdb)-before) / idle
	f.stop()

	lines := []string{fmt.Sprintf("CAPACITY per notification %.0f bytes just after the write: log entry %.0f + dedupe marker %.0f; per idle connected user %.0f bytes",
		perNotification, perEntry, perMarker, perUser)}
	for _, perDay := range []int{1, 5, 20} {
		// A user's log holds min(MaxLen, 30 days × perDay) entries; markers live 25 h;
		// every user counted as connected (the worst case).
		kept := min(int(broker.DefaultLimits.MaxLen), 30*perDay)
		perStudent := float64(kept)*perEntry + float64(perDay)*25/24*perMarker + perUser
		for _, gb := range []float64{1, 5} {
			budget := gb * (1 << 30) * 0.5
			lines = append(lines, fmt.Sprintf("CAPACITY %g GB at 50 %%, %d notifications/user/day (%d kept): %d users",
				gb, perDay, kept, int(budget/perStudent)))
		}
	}
	for _, l := range lines {
		t.Log(l)
		fmt.Println(l)
	}
	// Guard rails: a change that doubles what we store per item should be a decision.
	if perNotification > 1024 || perUser > 2048 {
		t.Errorf("per notification %.0f B (budget 1 KiB), per idle user %.0f B (budget 2 KiB)", perNotification, perUser)
	}
}

func usedMemory(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}
