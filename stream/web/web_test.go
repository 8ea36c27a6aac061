package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func TestClientServesModule(t *testing.T) {
	res := get(t, Client(), "/client/notifications.js")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), "export function connect(") {
		t.Error("served file is not the client module")
	}
}

func TestDemoServesPageWithItsPolicy(t *testing.T) {
	for path, typ := range map[string]string{"/demo/": "text/html", "/demo/demo.js": "text/javascript", "/demo/demo.css": "text/css"} {
		res := get(t, Demo(), path)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), typ) {
			t.Errorf("%s: status %d, type %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	if res := get(t, Demo(), "/demo/missing.js"); res.StatusCode != 404 {
		t.Errorf("missing file: %d", res.StatusCode)
	}
}

func TestDemoServesServiceWorker(t *testing.T) {
	res := get(t, Demo(), "/demo/sw.js")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("Service-Worker-Allowed") != "/demo/" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers %v", res.Header)
	}
	if !strings.Contains(string(body), `addEventListener("push"`) || !strings.Contains(string(body), `addEventListener("notificationclick"`) {
		t.Error("served file is not the service worker")
	}
}
