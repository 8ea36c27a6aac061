package server

import (
	"io"
	"net/http"
	"regexp"
	"testing"
)

// TestClientModulesCrossOrigin: an app on an allowed origin imports the client as an ES
// module from another origin, which the browser fetches with CORS — the entry point and
// every module it imports must carry Access-Control-Allow-Origin for that origin, and
// nothing for an origin not listed. (Before, /client/ had no CORS headers at all, so the
// cross-origin import of docs/CLIENT.md was blocked by the browser.)
func TestClientModulesCrossOrigin(t *testing.T) {
	e := newEnv(t, nil) // AllowedOrigins: https://app.example
	fetch := func(path, origin string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	res, entry := fetch("/client/notifications.js", "https://app.example")
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("entry point: %d, Access-Control-Allow-Origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
	imports := regexp.MustCompile(`(?m)^(?:import|export)\b(?:[^"\n]*? from)? "\./([^"]+)";`).FindAllStringSubmatch(entry, -1)
	if len(imports) == 0 {
		t.Fatal("the entry point imports nothing")
	}
	for _, m := range imports {
		res, _ := fetch("/client/"+m[1], "https://app.example")
		if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("%s: %d, Access-Control-Allow-Origin %q", m[1], res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	if res, _ := fetch("/client/notifications.js", "https://evil.example"); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an origin not listed got Access-Control-Allow-Origin %q", res.Header.Get("Access-Control-Allow-Origin"))
	}
}
