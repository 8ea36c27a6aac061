package bidi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// The tests below drive a real headless Firefox ESR. Most share one browser and keep
// apart through their own test server (another origin) and user contexts; those about
// the process itself launch their own.

func TestMain(m *testing.M) {
	// A missing Firefox fails the run loudly; it is never a skip.
	if _, err := Find(); err != nil {
		fmt.Fprintf(os.Stderr, "system/browser/bidi: these tests drive Firefox ESR: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	if shared.b != nil {
		if err := shared.b.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "close the shared Firefox: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

var shared struct {
	once sync.Once
	b    *Browser
	err  error
}

// sharedBrowser launches the package's shared Firefox on first use; TestMain closes it.
func sharedBrowser(t *testing.T) *Browser {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		shared.b, shared.err = Launch(ctx, Options{})
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "bidi: launched %s in %v\n", shared.b.Version(), time.Since(start).Round(time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatalf("launch Firefox: %v", shared.err)
	}
	return shared.b
}

// launch starts a Firefox of the test's own, closed at cleanup.
func launch(t *testing.T, opts Options) *Browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := Launch(ctx, opts)
	if err != nil {
		t.Fatalf("launch Firefox: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close Firefox: %v", err)
		}
	})
	return b
}

// newTab opens a tab in userContext, closed at cleanup.
func newTab(t *testing.T, b *Browser, userContext string) *Tab {
	t.Helper()
	tab, err := b.NewTab(testContext(t), userContext)
	if err != nil {
		t.Fatalf("new tab: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tab.Close(ctx) // fails harmlessly once the browser is closed
	})
	return tab
}

// newUserContext creates a user context ("a second browser").
func newUserContext(t *testing.T, b *Browser) string {
	t.Helper()
	uc, err := b.NewUserContext(testContext(t))
	if err != nil {
		t.Fatalf("new user context: %v", err)
	}
	return uc
}

// open opens a tab in userContext on the server's path.
func open(t *testing.T, b *Browser, userContext, url string) *Tab {
	t.Helper()
	tab := newTab(t, b, userContext)
	if err := tab.Navigate(testContext(t), url); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
	return tab
}

const (
	blankPage = `<!doctype html><meta charset="utf-8"><title>bidi test</title><p>test page`
	errorPage = `<!doctype html><meta charset="utf-8"><title>errors</title>
<script>
console.log("just saying");
console.error("boom from console.error");
setTimeout(() => { throw new Error("uncaught boom"); });
</script>`
)

// testServer is the tests' web server on 127.0.0.1: a blank page at /, a page that
// logs errors at /errors, a JSON answer at /ping and one server-sent event at /events.
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /{$}", page(blankPage))
	mux.HandleFunc("GET /errors", page(errorPage))
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"pong":true}`)
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, ": open\n\nid: 7\nevent: notification\ndata: {\"title\":\"Video ready\"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // hold the stream open, as the real service does
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.CloseClientConnections() // ends open event streams
		srv.Close()
	})
	return srv
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
