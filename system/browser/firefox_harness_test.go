package browser

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/system/browser/bidi"
)

// The student flows in Firefox ESR, over WebDriver BiDi (package bidi), with the same
// assertions as their Chromium versions. One Firefox serves the whole test binary
// (a launch takes 5–15 s on the loaded test machine); each test is a "device" of its
// own: a user context, which shares no storage, BroadcastChannel or Web Locks with any
// other. run closes the browsers after the last test (closeFirefox).

// lazyFirefox is a Firefox launched once, on first use or ahead of it, and closed by
// closeFirefox after the last test.
type lazyFirefox struct {
	prefs map[string]any
	once  sync.Once
	done  chan struct{} // closed when the launch has ended
	b     *bidi.Browser
	err   error
	took  time.Duration
}

var (
	// firefox serves every Firefox test but one.
	firefox = &lazyFirefox{}
	// blockedFirefox blocks cookies, and so storage, for every site
	// (TestFirefoxRealBlockedStorage): a browser-wide preference.
	blockedFirefox = &lazyFirefox{prefs: map[string]any{"network.cookie.cookieBehavior": 2}}
)

// start launches the browser in the background, once.
func (f *lazyFirefox) start() {
	f.once.Do(func() {
		f.done = make(chan struct{})
		go func() {
			defer close(f.done)
			if _, f.err = bidi.Find(); f.err != nil {
				return
			}
			// Other test binaries (and their browsers) run at the same time: a launch may
			// time out under load, so one more try before giving up.
			for try := 1; try <= 2; try++ {
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				f.b, f.err = bidi.Launch(ctx, bidi.Options{Prefs: f.prefs, StartTimeout: 90 * time.Second})
				cancel()
				f.took = time.Since(start).Round(time.Millisecond)
				if f.err == nil {
					return
				}
				fmt.Fprintf(os.Stderr, "system/browser: launch Firefox (try %d): %v\n", try, f.err)
			}
		}()
	})
}

// get waits for the browser. A missing Firefox is a failure, never a skip: its error
// names scripts/ensure-deps.sh.
func (f *lazyFirefox) get(t *testing.T) *bidi.Browser {
	t.Helper()
	f.start()
	<-f.done
	if f.err != nil {
		if errors.Is(f.err, bidi.ErrNotFound) {
			t.Fatalf("the Firefox tests need Firefox ESR: %v", f.err)
		}
		t.Fatalf("launch Firefox: %v", f.err)
	}
	return f.b
}

// close quits the browser if it was launched. Tests run one at a time, and run calls
// closeFirefox after the last, so nothing races with start.
func (f *lazyFirefox) close() {
	if f.done == nil {
		return
	}
	<-f.done
	if f.b != nil {
		if err := f.b.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "system/browser: close Firefox: %v\n", err)
		}
	}
}

// sharedFirefox returns the test binary's Firefox, launched on first use. When
// TestFirefoxRealBlockedStorage is to run, its browser is launched at the same time,
// so the two start-ups overlap.
func sharedFirefox(t *testing.T) *bidi.Browser {
	t.Helper()
	first := firefox.done == nil
	if first && selected("TestFirefoxRealBlockedStorage") {
		blockedFirefox.start()
	}
	b := firefox.get(t)
	if first {
		t.Logf("launched %s in %v (shared by the Firefox tests)", b.Version(), firefox.took)
	}
	return b
}

// selected guesses whether -test.run selects, and -test.skip spares, the top-level test
// name. Only used to start a launch early: a wrong guess costs time, nothing else.
func selected(name string) bool {
	match := func(flagName string) (matched, set bool) {
		f := flag.Lookup(flagName)
		if f == nil || f.Value.String() == "" {
			return false, false
		}
		ok, err := regexp.MatchString(strings.Split(f.Value.String(), "/")[0], name)
		return err == nil && ok, true
	}
	if skip, _ := match("test.skip"); skip {
		return false
	}
	run, set := match("test.run")
	return run || !set
}

// closeFirefox quits the browsers the Firefox tests launched; run calls it after the
// tests.
func closeFirefox() {
	firefox.close()
	blockedFirefox.close()
}

// ffDevice is one "device" in the shared Firefox: a user context of its own. Its tabs
// share storage, BroadcastChannel and Web Locks, as the tabs of one browser do.
type ffDevice struct {
	b  *bidi.Browser
	uc string
}

// newFirefox is the Firefox counterpart of newBrowser: a fresh device.
func newFirefox(t *testing.T) *ffDevice {
	t.Helper()
	b := sharedFirefox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	uc, err := b.NewUserContext(ctx)
	if err != nil {
		t.Fatalf("new Firefox user context: %v", err)
	}
	return &ffDevice{b: b, uc: uc}
}

// ffTab is one page in Firefox, with the methods of tab (state, app, waitState,
// waitApp, reload, close), so a flow reads as its Chromium version does.
type ffTab struct {
	t      *testing.T
	tab    *bidi.Tab
	closed atomic.Bool
}

// openFirefoxTab is openTab's counterpart: url in a new tab (its own window, in
// front) of the device. At cleanup the tab is closed, and any uncaught exception or
// console.error its pages reported fails the test.
func openFirefoxTab(t *testing.T, d *ffDevice, url string) *ffTab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tab, err := d.b.NewTab(ctx, d.uc)
	if err != nil {
		t.Fatalf("new Firefox tab: %v", err)
	}
	ft := &ffTab{t: t, tab: tab}
	t.Cleanup(func() {
		ft.close()
		for _, e := range tab.Errors() {
			t.Errorf("Firefox page error: %v", e)
		}
	})
	if err := tab.Navigate(ctx, url); err != nil {
		t.Fatalf("open %s in Firefox: %v", url, err)
	}
	return ft
}

// openFirefoxTabInit is openTabInit's counterpart: script runs in every document of
// the tab before the page's own scripts. Package bidi has no script.addPreloadScript,
// so the page is served through withInitScript's origin.
func openFirefoxTabInit(t *testing.T, d *ffDevice, rawURL, script string) *ffTab {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	front := withInitScript(t, u.Scheme+"://"+u.Host, script)
	return openFirefoxTab(t, d, front+u.RequestURI())
}

// ffCtx bounds one command to Firefox.
func ffCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// eval evaluates js in the page and decodes its JSON value into out (nil: ignore it).
func (ft *ffTab) eval(js string, out any) {
	ft.t.Helper()
	ctx, cancel := ffCtx()
	defer cancel()
	if err := ft.tab.Eval(ctx, js, out); err != nil {
		ft.t.Fatalf("evaluate %s in Firefox: %v", js, err)
	}
}

// ffEval is evalJS for a Firefox tab.
func ffEval[T any](ft *ffTab, js string) T {
	ft.t.Helper()
	var v T
	ft.eval(js, &v)
	return v
}

func (ft *ffTab) reload() {
	ft.t.Helper()
	ctx, cancel := ffCtx()
	defer cancel()
	if err := ft.tab.Reload(ctx); err != nil {
		ft.t.Fatalf("reload in Firefox: %v", err)
	}
}

// close closes the tab (and its window), once.
func (ft *ffTab) close() {
	if ft.closed.CompareAndSwap(false, true) {
		ctx, cancel := ffCtx()
		defer cancel()
		_ = ft.tab.Close(ctx) // fails harmlessly once the browser is gone
	}
}

func (ft *ffTab) state() pageState {
	ft.t.Helper()
	return ffEval[pageState](ft, pageStateJS)
}

func (ft *ffTab) waitState(timeout time.Duration, what string, cond func(pageState) bool) pageState {
	ft.t.Helper()
	var s pageState
	waitFor(ft.t, timeout, what, func() bool { s = ft.state(); return cond(s) })
	return s
}

func (ft *ffTab) app() appState {
	ft.t.Helper()
	return ffEval[appState](ft, `window.app`)
}

func (ft *ffTab) waitApp(timeout time.Duration, what string, cond func(appState) bool) appState {
	ft.t.Helper()
	var s appState
	waitFor(ft.t, timeout, what, func() bool { s = ft.app(); return cond(s) })
	return s
}

var doctypeRE = regexp.MustCompile(`(?i)^\s*<!doctype[^>]*>`)

// withInitScript serves origin on an origin of its own, on which script runs before
// the page's own scripts in every HTML document: it is inserted as the document's
// first script (after the doctype, so the page stays in standards mode), as Chromium's
// Page.addScriptToEvaluateOnNewDocument would run it. Every request goes through to
// origin (hooks and request logs of an appServer see them all), and origin is
// rewritten to the new one in HTML and JavaScript (the docs/CLIENT.md example names the app's
// origin), so the page talks to its own origin only.
func withInitScript(t *testing.T, origin, script string) string {
	t.Helper()
	target, err := url.Parse(origin)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := "http://" + ln.Addr().String()
	rp := &httputil.ReverseProxy{
		FlushInterval: -1, // event streams pass at once
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // as the Director-based proxy did: the page's own Host
			// Bodies to rewrite come uncompressed and whole, never as a 304.
			for _, h := range []string{"Accept-Encoding", "If-None-Match", "If-Modified-Since"} {
				pr.Out.Header.Del(h)
			}
		},
	}
	rp.ModifyResponse = func(res *http.Response) error {
		ct := res.Header.Get("Content-Type")
		html, js := strings.HasPrefix(ct, "text/html"), strings.Contains(ct, "javascript")
		if !html && !js {
			return nil
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		s := strings.ReplaceAll(string(body), origin, front)
		if html {
			tag := "<script>" + script + "</script>\n"
			if loc := doctypeRE.FindStringIndex(s); loc != nil {
				s = s[:loc[1]] + "\n" + tag + s[loc[1]:]
			} else {
				s = tag + s
			}
		}
		res.Body = io.NopCloser(strings.NewReader(s))
		res.ContentLength = int64(len(s))
		res.Header.Set("Content-Length", strconv.Itoa(len(s)))
		res.Header.Del("ETag")
		res.Header.Del("Last-Modified")
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }
	srv := &http.Server{Handler: rp}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return front
}
