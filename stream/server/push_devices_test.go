package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/stream/internal/fcm"
	"github.com/vividly-edu/notifications/stream/internal/fcm/fcmtest"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

const devicesPath = "/api/v1/notifications/push/devices"

// newFCMEnv starts a server with FCM on against a stand-in, and Web Push off unless
// withWeb: FCM alone must run the push worker.
func newFCMEnv(t *testing.T, withWeb bool) (*pushEnv, *fcmtest.Server) {
	t.Helper()
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "") // FCM_ENDPOINT without ADC: no OAuth
	srv := fcmtest.New("vividly-test")
	t.Cleanup(srv.Close)
	p := newPushEnv(t, func(c *Config) {
		c.FCM = fcm.Config{ProjectID: "vividly-test", Endpoint: srv.Endpoint(), Concurrency: 8}
		c.Push.Window = 500 * time.Millisecond // short, so a burst's summary comes within a test
		if !withWeb {
			c.Push = webpush.Config{TTL: 24 * time.Hour, Window: 500 * time.Millisecond, Concurrency: 16}
		}
	})
	return p, srv
}

// TestPushDevicesAPI drives the device routes as an app would: 201 new, 200 known, the
// 11th refused (409), token charset/length and platform checked (400), 401 without a
// credential, 204 on delete (idempotent), and 404 for the Web Push routes with no VAPID.
func TestPushDevicesAPI(t *testing.T) {
	p, _ := newFCMEnv(t, false)
	dev := func(tok, platform string) string { return fmt.Sprintf(`{"token":%q,"platform":%q}`, tok, platform) }
	if code, body := p.call(http.MethodPost, devicesPath, "u-1", dev("dA1:APA91b-x_0", "android")); code != http.StatusCreated {
		t.Fatalf("first register: %d %s", code, body)
	}
	if code, body := p.call(http.MethodPost, devicesPath, "u-1", dev("dA1:APA91b-x_0", "android")); code != http.StatusOK {
		t.Fatalf("register again: %d %s, want 200", code, body)
	}
	for i := 1; i < fcm.MaxDevices; i++ {
		if code, body := p.call(http.MethodPost, devicesPath, "u-1", dev(fmt.Sprint("tok-", i), "ios")); code != http.StatusCreated {
			t.Fatalf("device %d: %d %s", i+1, code, body)
		}
	}
	if code, body := p.call(http.MethodPost, devicesPath, "u-1", dev("tok-11", "web")); code != http.StatusConflict || !strings.Contains(body, `"error"`) {
		t.Fatalf("11th device: %d %s, want 409", code, body)
	}
	for name, c := range map[string]struct {
		method, user, body string
		want               int
	}{
		"bad char":        {http.MethodPost, "u-2", dev("a/b", "ios"), http.StatusBadRequest},
		"empty token":     {http.MethodPost, "u-2", dev("", "ios"), http.StatusBadRequest},
		"too long":        {http.MethodPost, "u-2", dev(strings.Repeat("a", 4097), "ios"), http.StatusBadRequest},
		"longest":         {http.MethodPost, "u-2", dev(strings.Repeat("a", 4096), "ios"), http.StatusCreated},
		"bad platform":    {http.MethodPost, "u-2", dev("abc", "windows"), http.StatusBadRequest},
		"no platform":     {http.MethodPost, "u-2", `{"token":"abc"}`, http.StatusBadRequest},
		"not json":        {http.MethodPost, "u-2", `token=abc`, http.StatusBadRequest},
		"token a number":  {http.MethodPost, "u-2", `{"token":12,"platform":"ios"}`, http.StatusBadRequest},
		"no credential":   {http.MethodPost, "", dev("abc", "ios"), http.StatusUnauthorized},
		"delete":          {http.MethodDelete, "u-1", dev("tok-3", "ios"), http.StatusNoContent},
		"delete unknown":  {http.MethodDelete, "u-1", dev("nope", "ios"), http.StatusNoContent},
		"delete no token": {http.MethodDelete, "u-1", `{}`, http.StatusBadRequest},
		"web push off":    {http.MethodPost, subsPath, "", http.StatusNotFound},
	} {
		path, user := devicesPath, c.user
		if name == "web push off" {
			path, user = subsPath, "u-2"
		}
		if code, body := p.call(c.method, path, user, c.body); code != c.want {
			t.Errorf("%s: %d %s, want %d", name, code, body, c.want)
		}
	}
	if code, body := p.call(http.MethodPost, devicesPath, "u-1", dev("tok-11", "web")); code != http.StatusCreated {
		t.Fatalf("after a delete there is room: %d %s", code, body)
	}
	if code, _ := p.call(http.MethodGet, "/api/v1/notifications/push/key", "", ""); code != http.StatusNotFound {
		t.Fatalf("push key without VAPID: %d, want 404", code)
	}
}

// TestFCMPushEndToEnd: with FCM alone, a notification the function publishes for an
// offline user reaches the stand-in as the contract's v1 message; a gone token is
// removed from the user's devices.
func TestFCMPushEndToEnd(t *testing.T) {
	p, srv := newFCMEnv(t, false)
	for _, tok := range []string{"tok-live", "tok-gone"} {
		if code, body := p.call(http.MethodPost, devicesPath, "u-1", fmt.Sprintf(`{"token":%q,"platform":"android"}`, tok)); code != http.StatusCreated {
			t.Fatalf("register: %d %s", code, body)
		}
	}
	srv.FailAlways("tok-gone", fcmtest.Unregistered)
	data, _ := p.enqueue("u-1")
	select {
	case <-srv.Arrived():
	case <-time.After(5 * time.Second):
		t.Fatalf("no FCM push within 5s: %+v violations %v", p.stats(), srv.Violations())
	}
	got := srv.Received()[0]
	if got.Token != "tok-live" || !json.Valid(got.Message.Notification) || got.Message.Data["notification"] != string(data) {
		t.Fatalf("received %+v, want the SSE data %s", got, data)
	}
	// The FCM worker removes the gone token (no request of ours does).
	deadline := time.Now().Add(5 * time.Second)
	for {
		devs, err := p.srv.push.devices.List(t.Context(), "u-1")
		if err == nil && len(devs) == 1 && devs[0].Token == "tok-live" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("devices %v (%v) after UNREGISTERED, want only tok-live", devs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
