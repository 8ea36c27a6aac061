package browser

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Issue 17: enablePush subscribes with the server's VAPID key and stores the
// subscription (with the key it was made with) on the server; disablePush removes it on
// both sides. Headless Chromium has no push service, so the page's PushManager is
// replaced by a stand-in that records what the client asks of it; the server side is
// real (bin/local over Redis).
func TestPushSubscribeAndDisable(t *testing.T) {
	key, env := vapidEnv(t)
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr, env...)
	browser := newBrowser(t)
	grantNotifications(t, browser, sys.url())
	page := openSWTab(t, browser, sys.url()+"/demo/?user=subby")
	page.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })

	ua, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	b64 := base64.RawURLEncoding.EncodeToString
	evalJS[bool](page.tab, fmt.Sprintf(`(() => {
		let current = null;
		const b64url = (k) => btoa(String.fromCharCode(...new Uint8Array(k.buffer || k))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
		window.fakePush = {subscribed: 0, unsubscribed: 0, key: ""};
		PushManager.prototype.getSubscription = async function () { return current; };
		PushManager.prototype.subscribe = async function (o) {
			window.fakePush.subscribed++;
			window.fakePush.key = b64url(o.applicationServerKey);
			current = {
				endpoint: "http://127.0.0.1:9/push/subby-1",
				options: {applicationServerKey: o.applicationServerKey},
				toJSON() { return {endpoint: this.endpoint, expirationTime: null, keys: {p256dh: %q, auth: %q}}; },
				async unsubscribe() { window.fakePush.unsubscribed++; current = null; return true; },
			};
			return current;
		};
		return true;
	})()`, b64(ua.PublicKey().Bytes()), b64(auth)))

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	stored := func() int64 {
		n, err := rdb.HLen(context.Background(), "notifications:{subby}:push").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	res := evalAsync[string](page.tab, `window.vividlyDemo.handle.enablePush({serviceWorker: "sw.js"}).then(r => "ok " + r.endpoint, e => "error " + (e.kind || e.name) + " " + (e.detail || e.message))`)
	if res != "ok http://127.0.0.1:9/push/subby-1" {
		t.Fatalf("enablePush: %s", res)
	}
	if got := evalJS[string](page.tab, `window.fakePush.key`); got != key {
		t.Errorf("subscribed with key %q, want the server's %q", got, key)
	}
	if n := stored(); n != 1 {
		t.Fatalf("%d subscriptions stored on the server after enablePush, want 1", n)
	}

	res = evalAsync[string](page.tab, `window.vividlyDemo.handle.disablePush({serviceWorker: "sw.js"}).then(r => "ok " + r.subscribed, e => "error " + (e.kind || e.name))`)
	if res != "ok false" {
		t.Fatalf("disablePush: %s", res)
	}
	if n := stored(); n != 0 {
		t.Errorf("%d subscriptions left on the server after disablePush, want 0", n)
	}
	if n := evalJS[int](page.tab, `window.fakePush.unsubscribed`); n != 1 {
		t.Errorf("browser unsubscribed %d times, want 1", n)
	}
}
