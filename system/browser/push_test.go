package browser

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
)

// vapidEnv gives bin/local a fresh VAPID key pair, so Web Push is on.
func vapidEnv(t *testing.T) (public string, env []string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	public = base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes())
	return public, []string{"VAPID_PUBLIC_KEY=" + public, "VAPID_PRIVATE_KEY=" + base64.RawURLEncoding.EncodeToString(k.Bytes()),
		"VAPID_SUBJECT=mailto:tests@vividly.example", "PUSH_ALLOW_LOOPBACK=true"}
}

// swTab is a demo tab that records the service worker registrations DevTools reports.
type swTab struct {
	*tab
	mu   sync.Mutex
	regs map[string]string // scope URL → registration id
}

func openSWTab(t *testing.T, browser context.Context, url string) *swTab {
	t.Helper()
	st := &swTab{regs: map[string]string{}}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithListener(func(ev any) {
		var regs []*serviceworker.Registration
		switch e := ev.(type) {
		case *serviceworker.EventWorkerRegistrationUpdated:
			regs = e.Registrations
		case serviceworker.EventWorkerRegistrationUpdated:
			regs = e.Registrations
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		for _, r := range regs {
			if r.IsDeleted {
				delete(st.regs, r.ScopeURL)
			} else {
				st.regs[r.ScopeURL] = string(r.RegistrationID)
			}
		}
	}))
	st.tab = &tab{t: t, ctx: ctx, cancel: cancel}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), cdpCall("ServiceWorker.enable", nil)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(st.close)
	return st
}

func (st *swTab) registration(scope string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.regs[scope]
}

// cdpCall sends one DevTools command to the tab's target.
func cdpCall(method string, params any) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var res json.RawMessage
		return tg.Call(ctx, method, params, &res)
	})
}

// grantNotifications lets origin show notifications without a prompt (headless has none).
func grantNotifications(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		var res json.RawMessage
		return chromedp.FromContext(ctx).Browser.Call(ctx, "Browser.grantPermissions",
			map[string]any{"origin": origin, "permissions": []string{"notifications"}}, &res)
	}))
	if err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
}

// Issue 17: the demo's switch subscribes through enablePush (the server's VAPID key,
// the service worker, the subscription POSTed with its key); a push delivered to the
// service worker through DevTools (ServiceWorker.deliverPushMessage) shows the
// notification — title, body, link, icon; disablePush unsubscribes on both sides.
func TestPushShowsNotification(t *testing.T) {
	key, env := vapidEnv(t)
	sys := startLocal(t, newRedis(t), env...)
	browser := newBrowser(t)
	grantNotifications(t, browser, sys.url())
	page := openSWTab(t, browser, sys.url()+"/demo/?user=pushy")
	page.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })
	waitFor(t, live, "push switch ready", func() bool {
		return evalJS[bool](page.tab, `!!window.vividlyDemo.push && !document.getElementById("push-switch").disabled`)
	})
	if got := evalAsync[string](page.tab, `fetch("/api/v1/notifications/push/key").then(r => r.json()).then(j => j.public_key)`); got != key {
		t.Fatalf("push key %q, want the configured %q", got, key)
	}

	// The switch, as a click: enablePush registers the worker and subscribes.
	// Headless Chromium has no push service (no GCM), so its subscribe may fail or never
	// settle: the worker is registered before that, which is what the push event needs.
	res := evalAsync[string](page.tab, `Promise.race([
		window.vividlyDemo.handle.enablePush({serviceWorker: "sw.js"}).then(r => "ok " + r.endpoint, e => "error " + (e.kind || e.name) + " " + (e.detail || e.message)),
		new Promise(r => setTimeout(() => r("pending after 5 s"), 5000))])`)
	t.Logf("enablePush in headless Chromium: %s", res)
	scope := sys.url() + "/demo/"
	waitFor(t, live, "service worker registered", func() bool { return page.registration(scope) != "" })

	// Push: the service worker shows the notification and tells the page.
	evalJS[bool](page.tab, `(window.pushShown = [], navigator.serviceWorker.addEventListener("message", e => window.pushShown.push(e.data)), true)`)
	payload := `{"id":"1-0","type":"video_complete","request_id":"r","title":"Photosynthesis","video_url":"https://cdn.example/v/p.mp4","created_at":"2026-12-01T10:00:00Z"}`
	page.do(cdpCall("ServiceWorker.deliverPushMessage", map[string]any{"origin": sys.url(), "registrationId": page.registration(scope), "data": payload}))
	var shown []struct{ Title, Body, Link, Icon string }
	waitFor(t, live, "notification shown", func() bool {
		shown = evalJS[[]struct{ Title, Body, Link, Icon string }](page.tab, `window.pushShown`)
		return len(shown) > 0
	})
	if s := shown[0]; s.Title != "Video ready" || !strings.Contains(s.Body, "Photosynthesis") || s.Link != "https://cdn.example/v/p.mp4" || !strings.HasPrefix(s.Icon, "data:image/svg") {
		t.Errorf("shown %+v", s)
	}
	notes := evalAsync[[]struct{ Title, Body string }](page.tab, `navigator.serviceWorker.getRegistration().then(r => r.getNotifications()).then(l => l.map(n => ({title: n.title, body: n.body})))`)
	t.Logf("registration.getNotifications(): %+v", notes)
	if len(notes) != 1 || notes[0].Title != "Video ready" {
		t.Errorf("notifications shown by the worker: %+v", notes)
	}
	// A coalesced burst arrives as a summary.
	page.do(cdpCall("ServiceWorker.deliverPushMessage", map[string]any{"origin": sys.url(), "registrationId": page.registration(scope),
		"data": `{"id":"9-0","type":"summary","severity":"info","title":"3 new notifications","count":3,"created_at":"2026-12-01T10:00:01Z"}`}))
	waitFor(t, live, "summary shown", func() bool { return evalJS[int](page.tab, `window.pushShown.length`) == 2 })
	if s := evalJS[string](page.tab, `window.pushShown[1].title`); s != "3 new notifications" {
		t.Errorf("summary shown as %q", s)
	}
	// Issue 26: severity shows in the title (an error stays until acted on), and a push
	// arriving after its expires_at is dropped, not shown.
	deliver := func(data string) {
		page.do(cdpCall("ServiceWorker.deliverPushMessage", map[string]any{"origin": sys.url(), "registrationId": page.registration(scope), "data": data}))
	}
	deliver(`{"id":"10-0","type":"announcement","severity":"error","title":"Exam moved","created_at":"2026-12-01T10:00:02Z"}`)
	waitFor(t, live, "error shown", func() bool { return evalJS[int](page.tab, `window.pushShown.length`) == 3 })
	type shownPush struct {
		Title, Severity    string
		RequireInteraction bool
	}
	errShown := evalJS[shownPush](page.tab, `window.pushShown[2]`)
	if errShown.Title != "Error: Exam moved" || errShown.Severity != "error" || !errShown.RequireInteraction {
		t.Errorf("severity error shown as %+v", errShown)
	}
	deliver(`{"id":"11-0","type":"announcement","severity":"info","title":"Old news","created_at":"2026-12-01T10:00:03Z","expires_at":"2020-01-01T00:00:00Z"}`)
	waitFor(t, live, "expired push dropped", func() bool { return evalJS[int](page.tab, `window.pushShown.length`) == 4 })
	if got := evalJS[string](page.tab, `window.pushShown[3].vividly + " " + window.pushShown[3].reason`); got != "push-dropped expired" {
		t.Errorf("expired push: %q, want it dropped", got)
	}
	deliver(`{"id":"12-0","type":"announcement","severity":"warning","title":"Slow today","created_at":"2026-12-01T10:00:04Z","expires_at":"2099-01-01T00:00:00Z"}`)
	waitFor(t, live, "unexpired warning shown", func() bool { return evalJS[int](page.tab, `window.pushShown.length`) == 5 })
	if got := evalJS[string](page.tab, `window.pushShown[4].title`); got != "Warning: Slow today" {
		t.Errorf("warning not yet expired shown as %q", got)
	}
}
