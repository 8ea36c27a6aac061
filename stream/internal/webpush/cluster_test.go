package webpush

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
	"github.com/vividly-edu/notifications/stream/internal/audience"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
	"github.com/vividly-edu/notifications/stream/internal/fcm/fcmtest"
)

// TestFCMAndFanoutOnCluster: the decision with its FCM hand-off, the FCM worker and a
// broadcast fan-out run on a real Redis Cluster with the production key names: every
// script's keys share one slot ({push}, a user's, a group's).
func TestFCMAndFanoutOnCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	rdb := c.Client(t)
	names := rediskey.Names{Prefix: c.Prefix()}
	devices := fcm.NewRedisStore(rdb, names)
	members := redisbroker.NewMembers(rdb, names, time.Now)
	const n = 30
	for i := range n {
		u := fmt.Sprintf("c%02d", i)
		if err := members.Record(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := devices.Add(ctx, u, fcm.Device{Token: "tok-" + u, Platform: "android"}); err != nil {
			t.Fatal(err)
		}
	}
	srv := fcmtest.New("vividly-test")
	t.Cleanup(srv.Close)
	sender, err := fcm.NewSender(ctx, fcm.Config{ProjectID: "vividly-test", Endpoint: srv.Endpoint()}, option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	nobody := &users{online: map[string]bool{}, prefs: map[string]PushPrefs{}}
	opts := WorkerOptions{Queue: names.PushQueue(), Block: 200 * time.Millisecond, Tick: 50 * time.Millisecond,
		Drain: 100 * time.Millisecond, Log: slog.New(slog.DiscardHandler),
		Mobile: &Mobile{Devices: devices, Queue: names.FCMQueue(), KeyName: names.PushCollapseKey()},
		Fanout: audience.NewFanout(rdb, names, members, audience.FanoutOptions{Rate: 1000, Tick: 20 * time.Millisecond})}
	w, err := NewWorker(rdb, nil, nil, nobody, nobody, opts)
	if err != nil {
		t.Fatal(err)
	}
	fopts := opts
	fopts.Queue, fopts.Mobile, fopts.Fanout = names.FCMQueue(), nil, nil
	fw, err := NewFCMWorker(rdb, devices, sender, fopts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	for _, x := range []*Worker{w, fw} {
		go func() { x.Run(runCtx); done <- struct{}{} }()
	}
	t.Cleanup(func() { stop(); <-done; <-done })
	if _, err := Enqueue(ctx, rdb, names.PushQueue(), broker.Everyone,
		[]byte(`{"id":"!all:1-0","type":"announcement","title":"Snow day","created_at":"2026-12-06T07:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for srv.Accepted() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pushed on the cluster: %+v / %+v", srv.Accepted(), n, w.Stats(), fw.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Fatal(v)
	}
}
