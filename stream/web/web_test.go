package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
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

// The entry point is served at its stable URL, revalidated before each use (no-cache,
// with the build's version as its ETag), its imports pointing at this build's version;
// every module is served there as it is embedded, immutable. Other paths, unversioned
// siblings and other versions are not found.
func TestClientServesEveryModule(t *testing.T) {
	paths := ClientPaths()
	if paths[0] != "/client/notifications.js" || len(paths) != len(clientModules)+1 {
		t.Fatalf("ClientPaths = %v", paths)
	}
	res := get(t, Client(), paths[0])
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("ETag") != `"`+version+`"` {
		t.Errorf("entry: status %d, headers %v", res.StatusCode, res.Header)
	}
	imports := importRE.FindAllStringSubmatch(string(body), -1)
	src, _ := files.ReadFile("notifications.js")
	if n := len(importRE.FindAllString(string(src), -1)); len(imports) != n || n == 0 {
		t.Errorf("entry serves %d imports, its source has %d", len(imports), n)
	}
	for _, m := range imports {
		if !strings.HasPrefix(m[1], "./"+version+"/") {
			t.Errorf("entry imports %q, not this build's version", m[1])
		}
	}
	for _, path := range paths[1:] {
		res := get(t, Client(), path)
		body, _ := io.ReadAll(res.Body)
		want, err := files.ReadFile(path[strings.LastIndexByte(path, '/')+1:])
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
			res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: status %d, headers %v", path, res.StatusCode, res.Header)
		}
		if string(body) != string(want) {
			t.Errorf("%s: body is not the embedded file", path)
		}
	}
	for _, path := range []string{"/client/sw.js", "/client/missing.js", "/client/demo/demo.js", "/client/",
		"/notifications.js", "/client/backoff.js", "/client/0123456789abcdef/backoff.js", "/client/" + version + "/sw.js"} {
		if res := get(t, Client(), path); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", path, res.StatusCode)
		}
	}
	req := httptest.NewRequest(http.MethodGet, paths[0], nil)
	req.Header.Set("If-None-Match", `"`+version+`"`)
	rec := httptest.NewRecorder()
	Client().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("entry revalidated with its ETag: %d, want 304", rec.Code)
	}
}

var importRE = regexp.MustCompile(`(?m)^(?:import|export)\b(?:[^"\n]*? from)? "([^"]+)";`)

// The modules import one another by relative path, only modules that are served, and
// notifications.js imports every one of them itself, so that a browser fetches them
// all as soon as it has read the entry point (not one level of imports at a time).
func TestClientImportsAreServed(t *testing.T) {
	served := map[string]bool{}
	for _, name := range clientModules {
		served[name] = true
	}
	direct := map[string]bool{}
	for _, name := range clientModules {
		src, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			target, ok := strings.CutPrefix(m[1], "./")
			if !ok || !served[target] {
				t.Errorf("%s imports %q: not a served sibling module", name, m[1])
			}
			if name == "notifications.js" {
				direct[target] = true
			}
		}
	}
	for _, name := range clientModules[1:] {
		if !direct[name] {
			t.Errorf("notifications.js does not import %s", name)
		}
	}
	if len(direct) == 0 {
		t.Error("no imports found: the pattern no longer matches the modules")
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
