package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// registerWithGroups registers a device for user with a token naming groups: that
// records the user's membership.
func (p *pushEnv) registerWithGroups(user, tok string, groups ...string) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.url+devicesPath, strings.NewReader(fmt.Sprintf(`{"token":%q,"platform":"ios"}`, tok)))
	req.Header.Set("Authorization", "Bearer "+groupToken(p.t, user, time.Hour, groups...))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		p.t.Fatalf("register %s: %d", user, resp.StatusCode)
	}
}

// publishTo stores a notification in source's log and queues it for push, as the
// function does.
func (p *pushEnv) publishTo(source string) {
	p.t.Helper()
	rdb, err := redisbroker.NewClient(config.Redis{Addr: redisSrv.Addr})
	if err != nil {
		p.t.Fatal(err)
	}
	defer rdb.Close()
	fn, err := redisbroker.New(rdb, p.names, broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour},
		redisbroker.Options{EnqueuePush: true})
	if err != nil {
		p.t.Fatal(err)
	}
	n := brokertest.Sample(int(msgSeq.Add(1)))
	if _, _, err := fn.Publish(context.Background(), source, fmt.Sprint("msg-", msgSeq.Load()), n); err != nil {
		p.t.Fatal(err)
	}
}

// TestGroupAndBroadcastPush: a class announcement reaches the offline members of the
// class who have a device (not another class, not a member with an open stream), and
// a broadcast reaches every offline user with a device; each once.
func TestGroupAndBroadcastPush(t *testing.T) {
	p, srv := newFCMEnv(t, false)
	p.registerWithGroups("m1", "tok-m1", "7b")
	p.registerWithGroups("m2", "tok-m2", "7b", "chess")
	p.registerWithGroups("other", "tok-other", "chess")
	p.registerWithGroups("online", "tok-online", "7b")
	if ok, err := p.srv.presence.Acquire(context.Background(), "online", "test/1", 10); err != nil || !ok {
		t.Fatalf("presence: %v %v", ok, err)
	}
	tokens := func() []string {
		var got []string
		for _, r := range srv.Received() {
			got = append(got, r.Token)
		}
		slices.Sort(got)
		return got
	}
	fcmHandled := func(n uint64) func(webpush.Stats) bool {
		return func(webpush.Stats) bool { return p.srv.push.fcmWorker.Stats().Handled >= n }
	}

	p.publishTo(broker.GroupSource("7b"))
	// The group entry, then one per member (m1, m2, online); FCM sends two.
	p.waitStats("group fan-out", func(s webpush.Stats) bool { return s.Fanouts == 1 && s.Handled >= 4 })
	p.waitStats("group fcm sends", fcmHandled(2))
	if got := tokens(); !slices.Equal(got, []string{"tok-m1", "tok-m2"}) {
		t.Fatalf("group push went to %v, want tok-m1 and tok-m2", got)
	}
	if !strings.HasPrefix(string(srv.Received()[0].Message.Notification), `{"id":"@7b:`) {
		t.Fatalf("pushed %s, want the group notification's SSE data", srv.Received()[0].Message.Notification)
	}

	// m1 and m2 may still be inside the coalescing window of the group push: then the
	// broadcast is held and comes as the window's summary. Either way one push each.
	p.publishTo(broker.Everyone)
	p.waitStats("broadcast fan-out", func(s webpush.Stats) bool { return s.Fanouts == 2 && s.Handled >= 9 })
	p.waitStats("broadcast fcm sends", fcmHandled(5))
	want := []string{"tok-m1", "tok-m1", "tok-m2", "tok-m2", "tok-other"}
	if got := tokens(); !slices.Equal(got, want) {
		t.Fatalf("after the broadcast pushes went to %v, want %v", got, want)
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Fatal(v)
	}
}

// TestGroupPushReachesBothSenders: a group notification goes to a member's browser by
// Web Push and to another member's app by FCM, from one decision path.
func TestGroupPushReachesBothSenders(t *testing.T) {
	p, srv := newFCMEnv(t, true)
	sub := p.ps.Subscribe("/sub/web", p.cfg.Push.PublicKey)
	req, _ := http.NewRequest(http.MethodPost, p.url+subsPath, strings.NewReader(subJSON(sub, "")))
	req.Header.Set("Authorization", "Bearer "+groupToken(t, "w", time.Hour, "7b"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscribe: %d", resp.StatusCode)
	}
	p.registerWithGroups("f", "tok-f", "7b")
	p.publishTo(broker.GroupSource("7b"))
	got, ok := p.ps.Next(5 * time.Second)
	if !ok || got.Path != "/sub/web" || !strings.Contains(string(got.Plain), `"id":"@7b:`) {
		t.Fatalf("web push: %v %+v", ok, got)
	}
	select {
	case <-srv.Arrived():
	case <-time.After(5 * time.Second):
		t.Fatalf("no FCM push: %+v", p.stats())
	}
	if r := srv.Received(); len(r) != 1 || r[0].Token != "tok-f" {
		t.Fatalf("FCM got %+v", r)
	}
}
