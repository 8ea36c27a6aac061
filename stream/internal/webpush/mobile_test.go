package webpush

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/vividly-edu/notifications/stream/internal/fcm"
	"github.com/vividly-edu/notifications/stream/internal/fcm/fcmtest"
)

// mobileEnv adds FCM to an env: a device store, the stand-in, and the FCM Worker.
type mobileEnv struct {
	*env
	devices *fcm.RedisStore
	fcmSrv  *fcmtest.Server
	fcmW    *Worker
}

// newMobileEnv builds a deciding Worker with FCM (and Web Push unless fcmOnly) and an
// FCM Worker on the env's queues; tune adjusts both Workers' options.
func newMobileEnv(t testing.TB, fcmOnly bool, tune func(*WorkerOptions)) *mobileEnv {
	t.Helper()
	e := newEnv(t, tune)
	_, names := newRedis(t)
	names.Prefix = e.queue[:len(e.queue)-len(":{push}")]
	m := &mobileEnv{env: e, devices: fcm.NewRedisStore(e.rdb, names), fcmSrv: fcmtest.New("vividly-test")}
	t.Cleanup(m.fcmSrv.Close)
	opts := e.worker.opts
	opts.Mobile = &Mobile{Devices: m.devices, Queue: names.FCMQueue(), KeyName: names.PushCollapseKey()}
	opts.Consumer = ""
	if fcmOnly {
		opts.CollapseKey = nil
		w, err := NewWorker(e.rdb, nil, nil, e.users, e.users, opts)
		if err != nil {
			t.Fatal(err)
		}
		e.worker = w
	} else {
		e.worker = e.newWorker(opts)
	}
	sender, err := fcm.NewSender(context.Background(), fcm.Config{ProjectID: "vividly-test", Endpoint: m.fcmSrv.Endpoint()},
		option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	fopts := opts
	fopts.Queue, fopts.Group, fopts.Mobile = names.FCMQueue(), "", nil
	if m.fcmW, err = NewFCMWorker(e.rdb, m.devices, sender, fopts); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *mobileEnv) register(user, token, platform string) {
	m.t.Helper()
	if _, err := m.devices.Add(context.Background(), user, fcm.Device{Token: token, Platform: platform}); err != nil {
		m.t.Fatal(err)
	}
}

// waitFCM waits for n accepted FCM messages in all.
func (m *mobileEnv) waitFCM(n int) []fcmtest.Received {
	m.t.Helper()
	deadline := time.After(5 * time.Second)
	for len(m.fcmSrv.Received()) < n {
		select {
		case <-m.fcmSrv.Arrived():
		case <-time.After(20 * time.Millisecond): // an arrival between the count and Arrived
		case <-deadline:
			m.t.Fatalf("FCM got %d messages, want %d; violations %v", len(m.fcmSrv.Received()), n, m.fcmSrv.Violations())
		}
	}
	return m.fcmSrv.Received()
}

// TestFCMOnlyDecision: with FCM alone (no VAPID keys) the worker runs, decides by the
// same rules (offline only, muted types) and FCM receives the contract's message.
func TestFCMOnlyDecision(t *testing.T) {
	t.Parallel()
	m := newMobileEnv(t, true, nil)
	m.register("off", "tok-off", "android")
	m.register("on", "tok-on", "ios")
	m.register("mute", "tok-mute", "ios")
	m.users.online["on"] = true
	m.users.prefs["mute"] = PushPrefs{Muted: []string{"video_complete"}}
	m.run(m.worker)
	m.run(m.fcmW)
	m.enqueue("on", "1-0", "video_complete")
	m.enqueue("mute", "2-0", "video_complete")
	data := m.enqueue("off", "3-0", "video_failed")
	m.waitHandled(m.worker, 3)
	got := m.waitFCM(1)
	m.waitHandled(m.fcmW, 1)
	if len(got) != 1 || got[0].Token != "tok-off" {
		t.Fatalf("FCM got %+v, want one message to tok-off", got)
	}
	msg := got[0].Message
	if msg.Data["notification"] != string(data) || msg.Priority != "HIGH" || msg.APNsHeaders["apns-priority"] != "10" {
		t.Fatalf("message %+v", msg)
	}
	if msg.TTL != "86400s" || msg.CollapseKey == "" || msg.CollapseKey != msg.APNsHeaders["apns-collapse-id"] {
		t.Fatalf("ttl/collapse %q %q %v", msg.TTL, msg.CollapseKey, msg.APNsHeaders)
	}
	if msg.Title != "Your video could not be made" || msg.Body != "Photosynthesis" {
		t.Fatalf("notification %q %q", msg.Title, msg.Body)
	}
	if st := m.worker.Stats(); st.SkippedOnline != 1 || st.SkippedPrefs != 1 || st.HandedOff != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFCMCoalescing: ten notifications in a window cost a device at most two pushes,
// the second a summary (counting all ten, as Web Push does) under the same collapse key.
func TestFCMCoalescing(t *testing.T) {
	t.Parallel()
	m := newMobileEnv(t, true, func(o *WorkerOptions) { o.Window = 500 * time.Millisecond })
	m.register("u", "tok", "android")
	m.run(m.worker)
	m.run(m.fcmW)
	for i := range 10 {
		m.enqueue("u", time.Now().Format("150405")+"-"+string(rune('0'+i)), "announcement")
	}
	got := m.waitFCM(2)
	m.waitHandled(m.worker, 11) // ten notifications and the summary
	if n := len(m.fcmSrv.Received()); n != 2 {
		t.Fatalf("%d pushes for ten notifications, want 2", n)
	}
	var s struct {
		Type  string `json:"type"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal(got[1].Message.Notification, &s); err != nil || s.Type != "summary" || s.Count != 10 {
		t.Fatalf("second push %s: %+v %v", got[1].Message.Notification, s, err)
	}
	if got[0].Message.CollapseKey != got[1].Message.CollapseKey {
		t.Fatalf("collapse keys differ: %q %q", got[0].Message.CollapseKey, got[1].Message.CollapseKey)
	}
}

// TestFCMRemovalAndRetry: UNREGISTERED and an invalid token remove the device, another
// INVALID_ARGUMENT does not, and 429 with Retry-After is retried no sooner than asked.
func TestFCMRemovalAndRetry(t *testing.T) {
	t.Parallel()
	m := newMobileEnv(t, true, nil)
	m.register("gone", "tok-gone", "android")
	m.register("bad", "tok-bad", "ios")
	m.register("other", "tok-other", "ios")
	m.register("busy", "tok-busy", "android")
	m.fcmSrv.FailNext("tok-gone", fcmtest.Unregistered)
	m.fcmSrv.FailNext("tok-bad", fcmtest.InvalidToken)
	m.fcmSrv.FailNext("tok-other", fcmtest.InvalidOther)
	m.fcmSrv.FailNext("tok-busy", fcmtest.QuotaExceeded(1), fcmtest.Unavailable)
	m.run(m.worker)
	m.run(m.fcmW)
	start := time.Now()
	for i, u := range []string{"gone", "bad", "other", "busy"} {
		m.enqueue(u, string(rune('1'+i))+"-0", "announcement")
	}
	got := m.waitFCM(1)
	m.waitHandled(m.fcmW, 4)
	if len(got) != 1 || got[0].Token != "tok-busy" {
		t.Fatalf("accepted %+v, want only tok-busy after its retries", got)
	}
	if waited := got[0].At.Sub(start); waited < time.Second {
		t.Fatalf("retried after %v, before the Retry-After of 1s", waited)
	}
	if n := m.fcmSrv.Attempts("tok-busy"); n != 3 {
		t.Fatalf("tok-busy attempts %d, want 3 (429, 503, ok)", n)
	}
	for user, want := range map[string]int{"gone": 0, "bad": 0, "other": 1, "busy": 1} {
		if devs, _ := m.devices.List(context.Background(), user); len(devs) != want {
			t.Errorf("%s has %d devices, want %d", user, len(devs), want)
		}
	}
	if st := m.fcmW.Stats(); st.Gone != 2 || st.Failed != 1 || st.Retries != 2 || st.Sent != 1 {
		t.Fatalf("fcm stats %+v", st)
	}
}

// TestSlowFCMDoesNotBlockWebPush: with FCM hanging and every slot of the FCM Worker
// taken, a Web Push for another user is still sent at once, and a user with both gets
// the Web Push without waiting for FCM.
func TestSlowFCMDoesNotBlockWebPush(t *testing.T) {
	t.Parallel()
	m := newMobileEnv(t, false, func(o *WorkerOptions) { o.MaxInFlight = 4; o.RetryFor = time.Minute })
	m.fcmSrv.SetDelay(time.Minute)
	for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
		m.register(u, "tok-"+u, "android")
	}
	m.subscribe("f", "/f")
	m.subscribe("web", "/web")
	m.run(m.worker)
	m.run(m.fcmW)
	for i, u := range []string{"a", "b", "c", "d", "e", "f", "web"} {
		m.enqueue(u, string(rune('1'+i))+"-0", "announcement")
	}
	seen := map[string]bool{}
	for range 2 {
		p, ok := m.ps.Next(3 * time.Second)
		if !ok {
			t.Fatalf("web pushes %v sent while FCM hangs, want /web and /f: %+v", seen, m.worker.Stats())
		}
		seen[p.Path] = true
	}
	if !seen["/web"] || !seen["/f"] {
		t.Fatalf("web pushes went to %v", seen)
	}
	if n := len(m.fcmSrv.Received()); n != 0 {
		t.Fatalf("FCM accepted %d while hanging", n)
	}
}

// TestFCMQuietHoursSummary: an app-only user (no Web Push subscription, a worker
// without Web Push keys) in quiet hours gets nothing during them and one summary on
// its device when they end. Before, the summary went to Web Push subscriptions only
// and, without Web Push keys, dereferenced the absent sender; and the FCM Worker, which
// ran the same maintenance loop, claimed about half the summaries and dropped them.
func TestFCMQuietHoursSummary(t *testing.T) {
	t.Parallel()
	clk := newClock(t, "2026-10-24T22:30:00Z")
	m := newMobileEnv(t, true, func(o *WorkerOptions) { o.Now, o.Tick = clk.now, 20*time.Millisecond })
	m.users.prefs["night"] = PushPrefs{Quiet: &berlinNights}
	m.register("night", "tok-night", "android")
	m.run(m.worker)
	m.run(m.fcmW)
	m.enqueue("night", "1-0", "video_complete")
	m.enqueue("night", "2-0", "video_complete")
	m.waitHandled(m.worker, 2)
	if st := m.worker.Stats(); st.QuietHeld != 2 || st.HandedOff != 0 {
		t.Fatalf("stats %+v, want 2 held and nothing handed to FCM", st)
	}
	clk.set(t, "2026-10-25T06:00:00Z") // 07:00 in Berlin after the clocks went back
	got := m.waitFCM(1)
	var sum struct {
		Type  string `json:"type"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal([]byte(got[0].Message.Data["notification"]), &sum); err != nil || sum.Type != SummaryType || sum.Count != 2 {
		t.Fatalf("FCM got %+v, want a summary of 2", got[0].Message)
	}
}
