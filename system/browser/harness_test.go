// Package browser drives a real headless Chromium against the local system (bin/local:
// function endpoint, stream service, demo page) on a private redis-server: the
// student-facing flows of the notification centre, end to end. Loopback only.
package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vividly-edu/notifications/shared/listenfd"
	"github.com/vividly-edu/notifications/shared/redistest"
)

var localBin string // bin/local, built once

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := chromiumPath(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "browser")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	localBin = filepath.Join(dir, "local")
	if out, err := exec.Command("go", "build", "-o", localBin, "../cmd/local").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build bin/local: %v\n%s", err, out)
		return 1
	}
	defer closeFirefox() // the browsers the Firefox tests launched, if any
	return m.Run()
}

// chromiumPath finds Debian's chromium (scripts/ensure-deps.sh installs it).
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium not found: the browser tests need it " +
		"(Debian: apt-get install -y chromium; `make test` installs it through scripts/ensure-deps.sh)")
}

// local is one bin/local process: the whole system in one process, on Redis.
type local struct {
	t       *testing.T
	cmd     *exec.Cmd
	port    string
	fnPort  string
	env     []string
	exited  chan struct{}
	stopped bool
}

// startLocal runs bin/local on a private Redis with extra environment (a later value
// of a variable wins). Streams tell clients to come back after 200 ms (SSE_RETRY), so
// reconnects are quick; tests of the backoff itself set their own.
func startLocal(t *testing.T, redisAddr string, extra ...string) *local {
	t.Helper()
	l := &local{t: t, port: "0", fnPort: "0"} // the first start lets the kernel pick
	l.env = append([]string{"PATH=" + os.Getenv("PATH"), "REDIS_ADDR=" + redisAddr, "LOG_LEVEL=warn",
		"RATE_LIMIT_PER_IP=1000", "RATE_LIMIT_BURST=1000", "DRAIN_TIME=300ms", "SSE_RETRY=200ms",
		"LOCAL_JWT_SECRET=" + testSecret, "LISTEN_FD=3", "FUNCTION_LISTEN_FD=4"}, extra...)
	l.start()
	t.Cleanup(l.stop)
	return l
}

func (l *local) url() string { return "http://127.0.0.1:" + l.port }

// start runs bin/local on ports bound here and handed over (ExtraFiles: LISTEN_FD=3,
// FUNCTION_LISTEN_FD=4), so no other program can take one between the bind and bin/local
// serving it. A restart binds the same ports again: pages come back to the same address.
func (l *local) start() {
	l.t.Helper()
	l.cmd = exec.Command(localBin)
	l.cmd.Env = l.env
	l.cmd.Stdout = nil
	l.cmd.Stderr = os.Stderr
	for _, port := range []*string{&l.port, &l.fnPort} {
		f, addr, err := listenfd.Bind("127.0.0.1:" + *port)
		if err != nil {
			l.t.Fatal(err)
		}
		// The child holds its own descriptor once started: when it is down, the port
		// refuses connections, as a stopped server's does.
		defer f.Close()
		l.cmd.ExtraFiles = append(l.cmd.ExtraFiles, f)
		*port = addr[strings.LastIndex(addr, ":")+1:]
	}
	if err := l.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(l.cmd, l.exited)
	l.stopped = false
	waitFor(l.t, 10*time.Second, "bin/local ready", func() bool {
		res, err := http.Get(l.url() + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// stop ends the process with SIGTERM, as Cloud Run does.
func (l *local) stop() {
	if l.stopped {
		return
	}
	l.stopped = true
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
	case <-time.After(10 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.exited
	}
}

// kill ends the process with SIGKILL: a crash, every connection dropped at once.
func (l *local) kill() {
	if l.stopped {
		return
	}
	l.stopped = true
	_ = l.cmd.Process.Kill()
	<-l.exited
}

// token fetches a development token for user from the demo's helper.
func (l *local) token(user string) string {
	l.t.Helper()
	var body struct{ Token string }
	getJSON(l.t, l.url()+"/demo/dev-token?user="+user, &body)
	return body.Token
}

// publish finishes a job for user through the function endpoint (the demo's publish
// helper posts it as a Pub/Sub push delivery). It returns when the function answered.
func (l *local) publish(user, title, status string) {
	l.t.Helper()
	body := fmt.Sprintf(`{"title":%q,"status":%q,"token":%q}`, title, status, l.token(user))
	res, err := http.Post(l.url()+"/demo/publish", "application/json", strings.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		l.t.Fatalf("publish %s: HTTP %d", title, res.StatusCode)
	}
}

// activeStreams reads sse_active_connections from the server's own metrics.
func (l *local) activeStreams() int {
	l.t.Helper()
	res, err := http.Get(l.url() + "/metrics")
	if err != nil {
		l.t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "sse_active_connections "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	l.t.Fatal("no sse_active_connections in /metrics")
	return 0
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newBrowser starts a headless Chromium with a fresh profile; tabs opened from the
// returned context share its storage, as tabs of one browser do.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, _ := chromiumPath()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1100, 720),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if _, err := chromedp.Run(bctx, chromedp.Navigate("about:blank")); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return bctx
}

// tab is one page of the demo in the browser.
type tab struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	closed atomic.Bool
}

func openTab(t *testing.T, browser context.Context, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	tb := &tab{t: t, ctx: ctx, cancel: cancel}
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(tb.close)
	return tb
}

func (tb *tab) close() {
	if tb.closed.CompareAndSwap(false, true) {
		tb.cancel()
	}
}

// evalJS evaluates js in the tab and decodes its value.
func evalJS[T any](tb *tab, js string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (tb *tab) do(a chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, a); err != nil {
		tb.t.Fatal(err)
	}
}

// pageState is what the demo page shows: the list and the toasts raised so far.
type pageState struct {
	Status  struct{ State, Role string }
	Toasts  []string         // ids toasted, in order
	ToastAt map[string]int64 // id → Date.now() when its toast was shown
	List    []struct{ ID, Title string }
	Filter  string // the inbox view shown ("all", "unread", "archived", "type:<type>")
}

// pageStateJS reads a pageState from the demo page (in either browser).
const pageStateJS = `(() => {
		const d = window.vividlyDemo || {toasts: [], toastAt: {}, status: null};
		return {
			status: d.status || {state: "", role: ""},
			toasts: d.toasts, toastAt: d.toastAt, filter: d.filter || "",
			list: [...document.querySelectorAll("#list li")].map(li => ({id: li.dataset.id, title: li.dataset.title})),
		};
	})()`

func (tb *tab) state() pageState {
	tb.t.Helper()
	return evalJS[pageState](tb, pageStateJS)
}

func (tb *tab) waitState(timeout time.Duration, what string, cond func(pageState) bool) pageState {
	tb.t.Helper()
	var s pageState
	waitFor(tb.t, timeout, what, func() bool { s = tb.state(); return cond(s) })
	return s
}

func (s pageState) titles() []string {
	var out []string
	for _, it := range s.List {
		out = append(out, it.Title)
	}
	return out
}

// checkList fails unless the page lists exactly the titles want, each once.
func checkList(t *testing.T, who string, s pageState, want []string) {
	t.Helper()
	got := s.titles()
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	var missing, dup []string
	for _, w := range want {
		if seen[w] == 0 {
			missing = append(missing, w)
		}
	}
	for g, n := range seen {
		if n > 1 {
			dup = append(dup, g)
		}
	}
	if len(missing) > 0 || len(dup) > 0 || len(got) != len(want) {
		t.Errorf("%s: list has %d items, want %d; missing %v; shown twice %v", who, len(got), len(want), missing, dup)
	}
}

func titlesN(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%03d", prefix, i))
	}
	return out
}

func newRedis(t *testing.T) string { return redistest.Start(t, redistest.Options{}).Addr }
