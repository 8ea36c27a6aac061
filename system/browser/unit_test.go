package browser

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vividly-edu/notifications/stream/web"
)

// Test 6: the client's pure logic (ordering, backoff, dedupe, id persistence) runs
// its unit tests in the real browser, against the module as bin/stream serves it.
func TestClientUnitInBrowser(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /client/", web.Client()) // notifications.js and the modules it imports
	mux.Handle("GET /", http.FileServer(http.Dir("testdata")))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	page := openTab(t, newBrowser(t), srv.URL+"/unit.html")
	type results struct {
		Passed int
		Failed []string
	}
	var r results
	waitFor(t, live, "unit results", func() bool {
		r = evalJS[results](page, `window.unitResults || {passed: -1, failed: []}`)
		return r.Passed >= 0
	})
	if len(r.Failed) > 0 {
		t.Errorf("%d browser unit checks failed:\n%s", len(r.Failed), strings.Join(r.Failed, "\n"))
	}
	if r.Passed < 30 {
		t.Errorf("only %d checks passed; the page did not run them all", r.Passed)
	}
	t.Logf("%d checks passed in Chromium", r.Passed)
}
