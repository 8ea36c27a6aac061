package bidi

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNavigateAndEval(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	tab := open(t, sharedBrowser(t), "", srv.URL+"/")
	cases := []struct {
		name string
		js   string
		want any
	}{
		{"DOM", `document.title`, "bidi test"},
		{"number", `6 * 7`, 42.0},
		{"object, undefined field dropped", `({a: [1, "x"], b: null, c: undefined})`, map[string]any{"a": []any{1.0, "x"}, "b": nil}},
		{"promise awaited", `new Promise(r => setTimeout(() => r("later"), 10))`, "later"},
		{"await inside", `(await fetch("/ping")).json()`, map[string]any{"pong": true}},
		{"trailing line comment", "location.pathname // the path", "/"},
		{"undefined", `undefined`, nil},
		{"each tab is in front", `document.visibilityState`, "visible"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got any
			if err := tab.Eval(testContext(t), tc.js, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Eval(%s) (-want +got):\n%s", tc.js, diff)
			}
		})
	}
}

func TestCall(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	tab := open(t, sharedBrowser(t), "", srv.URL+"/")
	tricky := `"); throw new Error("injected"); ("` // data, never code
	cases := []struct {
		name string
		fn   string
		args []any
		want any
	}{
		{"no args", `() => document.title`, nil, "bidi test"},
		{"args", `(a, b) => a + b`, []any{2, 3}, 5.0},
		{"string arg stays data", `(s) => s`, []any{tricky}, tricky},
		{"object arg", `(o) => o.ids.length`, []any{map[string]any{"ids": []string{"1-0", "2-0"}}}, 2.0},
		{"async", `async (path) => (await fetch(path)).status`, []any{"/ping"}, 200.0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got any
			if err := tab.Call(testContext(t), tc.fn, &got, tc.args...); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Call(%s) (-want +got):\n%s", tc.fn, diff)
			}
		})
	}
}

func TestScriptErrors(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	tab := open(t, sharedBrowser(t), "", srv.URL+"/")
	cases := []struct {
		name string
		js   string
		want string // in the EvalError's text
	}{
		{"throw", `(() => { throw new Error("boom") })()`, "Error: boom"},
		{"rejected promise", `Promise.reject(new Error("nope"))`, "Error: nope"},
		{"syntax", `1 +`, "SyntaxError"},
		{"not JSON-serializable", `10n`, "BigInt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tab.Eval(testContext(t), tc.js, nil)
			var evalErr *EvalError
			if !errors.As(err, &evalErr) || !strings.Contains(evalErr.Text, tc.want) {
				t.Errorf("Eval(%s) = %v, want an EvalError with %q", tc.js, err, tc.want)
			}
		})
	}
	var evalErr *EvalError
	if err := tab.Call(testContext(t), `() => { throw new TypeError("bad") }`, nil); !errors.As(err, &evalErr) {
		t.Errorf("Call that throws = %v, want an EvalError", err)
	}
	var n int
	if err := tab.Eval(testContext(t), `"not a number"`, &n); err == nil || errors.As(err, &evalErr) {
		t.Errorf("decoding a string into an int = %v, want a decode error", err)
	}
	if err := tab.Eval(testContext(t), `1 + 1`, &n); err != nil || n != 2 {
		t.Errorf("the tab after errors: %d, %v", n, err)
	}
}

func TestEventSourceReceivesEvent(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	tab := open(t, sharedBrowser(t), "", srv.URL)
	var got struct {
		ID, Type, Data string
	}
	err := tab.Eval(testContext(t), `new Promise((resolve, reject) => {
		const es = new EventSource("/events");
		es.addEventListener("notification", (e) => {
			es.close();
			resolve({id: e.lastEventId, type: e.type, data: e.data});
		});
		es.onerror = () => { es.close(); reject(new Error("EventSource error, readyState " + es.readyState)); };
	})`, &got)
	if err != nil {
		t.Fatal(err)
	}
	want := struct{ ID, Type, Data string }{"7", "notification", `{"title":"Video ready"}`}
	if got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
}

func TestConsoleErrorsAreReported(t *testing.T) {
	t.Parallel()
	b := sharedBrowser(t)
	srv := testServer(t)
	noisy := open(t, b, "", srv.URL+"/errors")
	quiet := open(t, b, "", srv.URL+"/")

	waitFor(t, "the page's two errors", func() bool { return len(noisy.Errors()) >= 2 })
	type entry struct{ Type, Level, Method, Text, URL string }
	var got []entry
	for _, e := range noisy.Errors() {
		got = append(got, entry{e.Type, e.Level, e.Method, e.Text, e.URL})
		if e.Line <= 0 || e.Time.IsZero() {
			t.Errorf("entry %v lacks a line or a time", e)
		}
	}
	url := srv.URL + "/errors"
	want := []entry{
		{"console", "error", "error", "boom from console.error", url},
		{"javascript", "error", "", "Error: uncaught boom", url},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(noisy.Logs(), func(e LogEntry) bool { return e.Level == "info" && e.Text == "just saying" }) {
		t.Errorf("console.log missing from Logs: %v", noisy.Logs())
	}

	// Errors are filed under their own tab, including ones a test's script causes.
	if errs := quiet.Errors(); len(errs) != 0 {
		t.Errorf("the quiet tab has errors: %v", errs)
	}
	if err := quiet.Eval(testContext(t), `(setTimeout(() => Promise.reject(new Error("unhandled"))), true)`, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unhandled rejection", func() bool { return len(quiet.Errors()) > 0 })
	if e := quiet.Errors()[0]; e.Type != "javascript" || !strings.Contains(e.Text, "unhandled") {
		t.Errorf("unhandled rejection reported as %v", e)
	}
}

func TestNavigateAndTabErrors(t *testing.T) {
	t.Parallel()
	b := sharedBrowser(t)
	srv := testServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String() + "/"
	l.Close()

	ctx := testContext(t)
	tab := newTab(t, b, "")
	var bidiErr *Error
	if err := tab.Navigate(ctx, closedURL); !errors.As(err, &bidiErr) {
		t.Errorf("navigate to a closed port = %v, want an *Error", err)
	}
	if err := tab.Navigate(ctx, srv.URL); err != nil {
		t.Fatalf("navigate after a failed one: %v", err)
	}
	if err := tab.Eval(ctx, `(window.marker = 1, sessionStorage.setItem("k", "v"), true)`, nil); err != nil {
		t.Fatal(err)
	}
	if err := tab.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	var after []any
	if err := tab.Eval(ctx, `[typeof window.marker, sessionStorage.getItem("k")]`, &after); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"undefined", "v"}, after); diff != "" {
		t.Errorf("after reload (-want +got):\n%s", diff)
	}

	window := windows(t, b)[tab.ID()]
	if err := tab.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for id, w := range windows(t, b) {
		if w == window {
			t.Errorf("closing the tab left its window open (with context %s)", id)
		}
	}
	if err := tab.Eval(ctx, `1`, nil); !errors.As(err, &bidiErr) || bidiErr.Code != "no such frame" {
		t.Errorf("Eval in a closed tab = %v, want a \"no such frame\" *Error", err)
	}
	if _, err := b.NewTab(ctx, "no-such-user-context"); !errors.As(err, &bidiErr) {
		t.Errorf("NewTab in an unknown user context = %v, want an *Error", err)
	}
}

// windows maps every top-level browsing context to its window (browsingContext.getTree).
func windows(t *testing.T, b *Browser) map[string]string {
	t.Helper()
	var tree struct {
		Contexts []struct {
			Context      string `json:"context"`
			ClientWindow string `json:"clientWindow"`
		} `json:"contexts"`
	}
	if err := b.conn.call(testContext(t), "browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string)
	for _, c := range tree.Contexts {
		m[c.Context] = c.ClientWindow
	}
	return m
}
