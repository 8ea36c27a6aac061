package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// testSecret signs the tokens of every test (startLocal gives it to bin/local as
// LOCAL_JWT_SECRET, which keeps its development-token helper for the demo page).
const testSecret = "browser-tests-secret-0123456789abcdefghij"

// exampleOrigin is the origin the usage example of docs/CLIENT.md names; the app server substitutes
// its own, which is the only change made to the example before it runs.
const exampleOrigin = "https://notifications.vividly.example"

// appServer is an app that uses notifications.js exactly as the usage example of docs/CLIENT.md
// shows (testdata/readme_example.js, run verbatim but for the origin), on its own
// origin, with the API proxied to bin/local so a test can fail, delay, rewrite or
// freeze any request (hook). It also mints the app's tokens (/token).
type appServer struct {
	t     *testing.T
	sys   *local
	ln    net.Listener
	proxy *httputil.ReverseProxy
	hook  atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]

	mu   sync.Mutex
	reqs []apiRequest
}

type apiRequest struct {
	Path, Query string
	At          time.Time
	Status      int
}

func startApp(t *testing.T, sys *local) *appServer {
	t.Helper()
	target, _ := url.Parse(sys.url())
	a := &appServer{t: t, sys: sys, proxy: httputil.NewSingleHostReverseProxy(target)}
	a.proxy.FlushInterval = -1
	a.proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		// bin/local is down (a restart): as a load balancer would.
		w.WriteHeader(http.StatusBadGateway)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.ln = ln
	srv := &http.Server{Handler: a}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

func (a *appServer) url() string { return "http://" + a.ln.Addr().String() }

// page is the app's URL for user with connect options merged in by the test wrapper.
func (a *appServer) page(user string, opts map[string]any, extra ...string) string {
	q := url.Values{"user": {user}}
	if len(opts) > 0 {
		b, _ := json.Marshal(opts)
		q.Set("opts", string(b))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return a.url() + "/app/app.html?" + q.Encode()
}

// setHook installs fn in front of the proxy; it returns true when it answered itself.
func (a *appServer) setHook(fn func(w http.ResponseWriter, r *http.Request) bool) { a.hook.Store(&fn) }

// requests lists the API requests whose path ends with suffix, made at or after since.
func (a *appServer) requests(suffix string, since time.Time) []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []apiRequest
	for _, r := range a.reqs {
		if strings.HasSuffix(r.Path, suffix) && !r.At.Before(since) {
			out = append(out, r)
		}
	}
	return out
}

// The wrapper the example imports in place of the published module: it passes the
// example's options through, adds the test's (window.testOptions), and keeps the
// handles for the test. strict: mount, unmount and mount again, as React StrictMode.
const clientWrapper = `import { connect as realConnect } from "/client/real.js";
export * from "/client/real.js";
export function connect(options) {
  const extra = { ...(window.testOptions || {}) };
  if (extra.onRead) extra.onRead = (d) => app.reads.push(d);
  const merged = { ...options, ...extra };
  // Every status as the client gives it (the example keeps only state and reason).
  merged.onStatus = (s) => { window.app?.raw.push(s); return options.onStatus && options.onStatus(s); };
  if (extra.strict) realConnect(merged).close();
  const h = realConnect(merged);
  (window.handles ||= []).push(h);
  return h;
}
`

func (a *appServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/app/app.html", "/app/app_env.js", "/app/spread.html", "/app/spread.js":
		http.ServeFile(w, r, "testdata/"+strings.TrimPrefix(r.URL.Path, "/app/"))
		return
	case "/app/example.js":
		src, err := os.ReadFile("testdata/readme_example.js")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(strings.ReplaceAll(string(src), exampleOrigin, a.url())))
		return
	case "/client/notifications.js":
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(clientWrapper))
		return
	case "/client/real.js":
		r.URL.Path = "/client/notifications.js"
		a.proxy.ServeHTTP(w, r)
		return
	case "/token":
		a.serveToken(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	// Logged as the browser sent it, when it arrives (a stream may never end); the
	// status is filled in when the answer is complete.
	a.mu.Lock()
	i := len(a.reqs)
	a.reqs = append(a.reqs, apiRequest{Path: r.URL.Path, Query: r.URL.RawQuery, At: time.Now()})
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.reqs[i].Status = rec.status
		a.mu.Unlock()
	}()
	if h := a.hook.Load(); h != nil && (*h)(rec, r) {
		return
	}
	a.proxy.ServeHTTP(rec, r)
}

// serveToken mints the app's JWT: GET /token?user=u&ttl=1h[&mode=bad][&claim=uid]. With
// claim, the user goes in that claim and sub is the same for everyone ("kiosk").
func (a *appServer) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ttl, err := time.ParseDuration(q.Get("ttl"))
	if err != nil {
		ttl = time.Hour
	}
	secret := testSecret
	if q.Get("mode") == "bad" {
		secret = "not-the-server-secret-000000000000000000000"
	}
	tok := mintToken(secret, q.Get("user"), q.Get("claim"), ttl)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": int(ttl.Seconds())})
}

func mintToken(secret, user, claim string, ttl time.Duration) string {
	c := jwt.MapClaims{"sub": user, "iat": time.Now().Unix(), "exp": time.Now().Add(ttl).Unix()}
	if claim != "" && claim != "sub" {
		c["sub"] = "kiosk"
		c[claim] = user
	}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	return tok
}

// appState is what the app has shown, as the usage example's callbacks recorded it.
type appState struct {
	Items         []struct{ ID, Title, Type string }
	Toasts        []string
	ToastAt       map[string]int64
	State, Reason string
	Statuses      []struct {
		State, Reason string
		At            int64
	}
	Raw []struct {
		State, Reason, Role string
		Attempt, DelayMs    int
	}
	Errors     []string
	Reads      []map[string]any
	SetItems   int
	SignIn     int
	TokenCalls int
}

func (tb *tab) app() appState {
	tb.t.Helper()
	return evalJS[appState](tb, `window.app`)
}

func (tb *tab) waitApp(timeout time.Duration, what string, cond func(appState) bool) appState {
	tb.t.Helper()
	var s appState
	waitFor(tb.t, timeout, what, func() bool { s = tb.app(); return cond(s) })
	return s
}

// checkItems fails unless the app lists exactly the titles want, each once.
func checkItems(t *testing.T, who string, s appState, want []string) {
	t.Helper()
	checkList(t, who, pageState{List: toList(s)}, want)
}

func toList(s appState) []struct{ ID, Title string } {
	var out []struct{ ID, Title string }
	for _, it := range s.Items {
		out = append(out, struct{ ID, Title string }{it.ID, it.Title})
	}
	return out
}

// checkToastsOnce fails if any id was toasted twice; it returns how many were toasted.
func checkToastsOnce(t *testing.T, who string, toasts []string) int {
	t.Helper()
	n := map[string]int{}
	for _, id := range toasts {
		n[id]++
		if n[id] == 2 {
			t.Errorf("%s: notification %s toasted twice", who, id)
		}
	}
	return len(n)
}

// openTabInit opens url with script run in every document before the page's own.
func openTabInit(t *testing.T, browser context.Context, url, script string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	tb := &tab{t: t, ctx: ctx, cancel: cancel}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var res map[string]any
		return tg.Call(ctx, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": script}, &res)
	}), chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(tb.close)
	return tb
}

// publisher writes notifications into a user's log as the function does, straight to
// Redis (live delivery included), with its own log cap.
type publisher struct {
	t *testing.T
	b *redisbroker.Broker
	n atomic.Int64
}

func newPublisher(t *testing.T, redisAddr string, maxLen int) *publisher {
	t.Helper()
	limits := broker.DefaultLimits
	if maxLen > 0 {
		limits.MaxLen = int64(maxLen)
	}
	b, err := redisbroker.Open(config.Redis{Addr: redisAddr, KeyPrefix: rediskey.DefaultPrefix}, limits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &publisher{t: t, b: b}
}

// send publishes a notification of type typ for user and returns its id.
func (p *publisher) send(user, typ, title string) string {
	p.t.Helper()
	n := notification.Notification{Type: notification.Type(typ), RequestID: "r-" + title, Title: title,
		CreatedAt: notification.Timestamp{Time: time.Now()}}
	if typ == string(notification.VideoComplete) {
		n.VideoURL = "https://cdn.example/v/" + title + ".mp4"
	}
	id, _, err := p.b.Publish(context.Background(), user, fmt.Sprintf("msg-%d-%d", time.Now().UnixNano(), p.n.Add(1)), n)
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

func (p *publisher) jobs(user string, titles []string) {
	p.t.Helper()
	for _, title := range titles {
		p.send(user, "video_complete", title)
	}
}

// streamThrough serves a stream request by fetching it from bin/local and copying the
// response line by line through edit (which returns the lines to send instead: none,
// one or several), flushing at the end of each frame. It returns when either side ends.
func (a *appServer) streamThrough(w http.ResponseWriter, r *http.Request, edit func(line string) []string) {
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, a.sys.url()+r.URL.RequestURI(), nil)
	for _, h := range []string{"Authorization", "Accept", "Last-Event-ID", "Origin"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	flusher := w.(http.Flusher)
	flusher.Flush()
	br := bufio.NewReader(res.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		out := []string{line}
		if edit != nil {
			out = edit(line)
		}
		for _, l := range out {
			io.WriteString(w, l+"\n")
		}
		if line == "" {
			flusher.Flush()
		}
	}
}

// jsonThrough proxies a JSON request to bin/local and lets edit change a 200 answer.
func (a *appServer) jsonThrough(w http.ResponseWriter, r *http.Request, edit func(map[string]any)) {
	rec := httptest.NewRecorder()
	a.proxy.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		var v map[string]any
		if json.Unmarshal(body, &v) == nil {
			edit(v)
			body, _ = json.Marshal(v)
		}
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

func isOpen(s appState) bool { return s.State == "open" }

func hasTitles(titles ...string) func(appState) bool {
	return func(s appState) bool {
		have := map[string]bool{}
		for _, it := range s.Items {
			have[it.Title] = true
		}
		for _, t := range titles {
			if !have[t] {
				return false
			}
		}
		return true
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func jsonMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// forwarders listens on n loopback ports and forwards each connection to target: each
// port is an origin of its own, with its own six HTTP/1.1 connections in the browser.
// A connection that cannot reach target is closed at once, as a refused one would be.
func forwarders(t *testing.T, n int, target string) []string {
	t.Helper()
	var urls []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		urls = append(urls, "http://"+ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					u, err := net.Dial("tcp", target)
					if err != nil {
						return
					}
					defer u.Close()
					done := make(chan struct{}, 2)
					go func() { io.Copy(u, c); done <- struct{}{} }()
					go func() { io.Copy(c, u); done <- struct{}{} }()
					<-done
				}()
			}
		}()
	}
	return urls
}
