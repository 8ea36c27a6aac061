package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 18 #13: a server that accepts streams and drops them at once (flapping) sees
// exponential backoff from its retry: hint, not a retry every few hundred ms; the
// attempt counter resets only after a stream stayed up for stableMs.
func TestReconnectBackoff(t *testing.T) {
	flowReconnectBackoff(t, func(t *testing.T, url string) page { return openTab(t, newBrowser(t), url) }, "Chromium")
}

// flowReconnectBackoff is TestReconnectBackoff for either browser.
func flowReconnectBackoff(t *testing.T, open func(t *testing.T, url string) page, browserName string) {
	sys := startLocal(t, newRedis(t))
	app := startApp(t, sys)
	var flapping atomic.Bool
	flapping.Store(true)
	var mu sync.Mutex
	var cancels []context.CancelFunc
	app.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/stream") {
			return false
		}
		if flapping.Load() {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "retry: 1000\n\n: ok\n\n")
			w.(http.Flusher).Flush()
			return true // and the stream ends
		}
		ctx, cancel := context.WithCancel(r.Context())
		mu.Lock()
		cancels = append(cancels, cancel)
		mu.Unlock()
		app.streamThrough(w, r.WithContext(ctx), nil)
		return true
	})
	page := open(t, app.page("flo", map[string]any{"stableMs": 1500}))
	waitFor(t, live, "the first stream request", func() bool { return len(app.requests("/stream", time.Time{})) > 0 })
	start := app.requests("/stream", time.Time{})[0].At
	time.Sleep(6*time.Second - time.Since(start))
	reqs := app.requests("/stream", time.Time{})
	var gaps []string
	for i := 1; i < len(reqs); i++ {
		gaps = append(gaps, reqs[i].At.Sub(reqs[i-1].At).Round(time.Millisecond).String())
	}
	t.Logf("%s: flapping server, retry: 1000: %d stream requests in 6 s, gaps %v", browserName, len(reqs), gaps)
	if len(reqs) > 8 {
		t.Errorf("%d stream requests in 6 s from one tab against a flapping server, want at most 8", len(reqs))
	}
	s := page.app()
	var attempts []int
	for _, st := range s.Raw {
		if st.State != "reconnecting" {
			continue
		}
		attempts = append(attempts, st.Attempt)
		if limit := 1000 << st.Attempt; st.DelayMs >= limit {
			t.Errorf("attempt %d waited %d ms, beyond the window of %d ms (retry: 1000, doubling)", st.Attempt, st.DelayMs, limit)
		}
	}
	if len(attempts) < 2 || !slices.IsSorted(attempts) || attempts[0] != 0 || attempts[len(attempts)-1] != len(attempts)-1 {
		t.Errorf("reconnect attempts %v: want 0, 1, 2, … (never reset by a stream that dies at once)", attempts)
	}

	// A stream that stays up for stableMs resets the counter: the next drop is met
	// with the first, short window again (the real server's hint, 200 ms).
	flapping.Store(false)
	page.run(`handles[0].reconnect()`)
	page.waitApp(live, "open on the healthy server", isOpen)
	time.Sleep(2 * time.Second)
	n := len(page.app().Raw)
	mu.Lock()
	for _, c := range cancels {
		c()
	}
	mu.Unlock()
	s = page.waitApp(live, "reconnecting after the drop", func(s appState) bool { return len(s.Raw) > n })
	if st := s.Raw[n]; st.State != "reconnecting" || st.Attempt != 0 || st.DelayMs >= 200 {
		t.Errorf("after a stable stream dropped: %+v, want reconnecting, attempt 0, within 200 ms", st)
	}
	page.waitApp(live, "open again", isOpen)
}

// Issue 18 #13: reconnects after a server restart, with 200 students' clients
// connected. One page holds 200 clients (each its own connect() for its own student,
// so each holds its own stream), spread over 40 origins so that Chromium's six HTTP/1.1
// connections per origin do not queue them: 200 tabs behave the same, but 200 renderer
// processes do not fit a 2-core test machine. Measured for a graceful restart (SIGTERM:
// the server drains over DRAIN_TIME and tells clients to come back in 1–3 s) and for a
// crash (SIGKILL: every connection drops at once), with the production defaults
// (SSE_RETRY=2s, DRAIN_TIME=3s).
func TestReconnectSpreadAfterRestart(t *testing.T) {
	const clients = 200
	for _, mode := range []string{"graceful", "crash"} {
		t.Run(mode, func(t *testing.T) {
			sys := startLocal(t, newRedis(t), "SSE_RETRY=2s", "DRAIN_TIME=3s")
			app := startApp(t, sys)
			bases := forwarders(t, 40, "127.0.0.1:"+sys.port)
			sys.env = append(sys.env, "ALLOWED_ORIGINS="+app.url())
			sys.stop()
			sys.start()
			b, _ := json.Marshal(bases)
			page := openTab(t, newBrowser(t), app.url()+"/app/spread.html?n="+fmt.Sprint(clients)+"&bases="+url.QueryEscape(string(b)))
			type spread struct {
				Opens    [][]int64
				Attempts []int
				Delays   [][]int
				Last     []string
			}
			opened := func(s spread, after int64) int {
				n := 0
				for _, o := range s.Opens {
					if len(o) > 0 && o[len(o)-1] >= after {
						n++
					}
				}
				return n
			}
			var s spread
			waitFor(t, 60*time.Second, "every client open", func() bool {
				s = evalJS[spread](page, `window.spread`)
				return len(s.Opens) == clients && opened(s, 0) == clients
			})
			waitFor(t, live, "200 streams on the server", func() bool { return sys.activeStreams() == clients })

			down := time.Now()
			if mode == "crash" {
				sys.kill()
			} else {
				sys.stop()
			}
			stopped := time.Now() // the old process has exited: an open after this is on the new one
			sys.start()
			up := time.Now()
			deadline := time.Now().Add(60 * time.Second)
			for s = evalJS[spread](page, `window.spread`); opened(s, stopped.UnixMilli()) < clients; s = evalJS[spread](page, `window.spread`) {
				if time.Now().After(deadline) {
					last := map[string]int{}
					for i, o := range s.Opens {
						if len(o) == 0 || o[len(o)-1] < stopped.UnixMilli() {
							last[s.Last[i]]++
						}
					}
					t.Fatalf("after 60 s, %d of %d clients reconnected; the others' last status: %v", opened(s, stopped.UnixMilli()), clients, last)
				}
				time.Sleep(100 * time.Millisecond)
			}
			var at []time.Duration
			for _, o := range s.Opens {
				i, _ := slices.BinarySearch(o, stopped.UnixMilli())
				at = append(at, time.Duration(o[i]-down.UnixMilli())*time.Millisecond)
			}
			slices.Sort(at)
			pct := func(p int) time.Duration { return at[(len(at)-1)*p/100].Round(10 * time.Millisecond) }
			attempts := 0
			for _, a := range s.Attempts {
				attempts += a
			}
			t.Logf("%s restart, %d clients: server down %v (stop %v, start %v); reconnected after the %s: first %v, median %v, p90 %v, last %v (from the server being ready: first %v, last %v); %d reconnect attempts",
				mode, clients, up.Sub(down).Round(10*time.Millisecond), stopped.Sub(down).Round(10*time.Millisecond),
				up.Sub(stopped).Round(10*time.Millisecond), map[string]string{"graceful": "SIGTERM", "crash": "SIGKILL"}[mode],
				pct(0), pct(50), pct(90), pct(100),
				(at[0] - up.Sub(down)).Round(10*time.Millisecond), (at[len(at)-1] - up.Sub(down)).Round(10*time.Millisecond), attempts)
			// Spread over seconds, not a burst: the middle 80 % of reconnects span ≥ 1 s.
			if spreadMid := pct(90) - pct(10); spreadMid < time.Second {
				t.Errorf("the middle 80%% of reconnects span %v: a burst, want them spread over seconds", spreadMid)
			}
			// Yet nobody waits longer than one maximal backoff window (30 s) once the
			// server is back: each client's last failure was before that.
			if late := at[len(at)-1] - up.Sub(down); late > 31*time.Second {
				t.Errorf("the last client reconnected %v after the server was ready, want within the 30 s backoff cap", late)
			}
		})
	}
}
