package notify

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// The soak's size is a flag so the long run is the same test:
//
//	go test ./functions -run TestSoakCancelledClients -count=1 -v -soak.requests=100000
//
// -soak.legacy points it at the receive path this package replaced (the Functions
// Framework's CloudEvent function, i.e. cloudevents/sdk-go's NewHTTPReceiveHandler) to
// show the wedge it fixes.
var (
	soakRequests = flag.Int("soak.requests", 20000, "requests the soak sends (2,000 with -short)")
	soakInflight = flag.Int("soak.inflight", 32, "requests in flight")
	soakCancel   = flag.Int("soak.cancel-every", 20, "one request in this many is cancelled by its client mid-request")
	soakTimeout  = flag.Duration("soak.timeout", 10*time.Second, "an answer slower than this counts as hung (a wedged request never answers)")
	soakLegacy   = flag.Bool("soak.legacy", false, "soak the Functions Framework's CloudEvent receive path instead (expect hung requests)")
)

// TestSoakCancelledClients: many concurrent deliveries, one in 20 abandoned by its
// client mid-request (half while the body is still being sent, half while waiting for
// the answer), never leave another request unanswered, and leave no handler goroutine
// behind. The Functions Framework's CloudEvent path failed exactly this
// (cloudevents/sdk-go#1224, #1332): 1-2 of 20,000 requests hung until their client gave up.
func TestSoakCancelledClients(t *testing.T) {
	n := *soakRequests
	if testing.Short() {
		n = min(n, 2000)
	}
	target := baseURL
	if *soakLegacy {
		h, err := production()
		if err != nil {
			t.Fatal(err)
		}
		p, err := cloudevents.NewHTTP()
		if err != nil {
			t.Fatal(err)
		}
		// The SDK's receive path hands over a decoded event; the function then does what
		// ServeHTTP does with it (a binary-mode request of the same event).
		handle := func(ctx context.Context, e event.Event) error {
			req, err := cehttp.NewHTTPRequestFromEvent(ctx, "http://soak/", e)
			if err != nil {
				return err
			}
			rec := httptest.NewRecorder()
			h.notify.ServeHTTP(rec, req)
			if rec.Code/100 != 2 {
				return fmt.Errorf("function answered %d", rec.Code)
			}
			return nil
		}
		rh, err := cloudevents.NewHTTPReceiveHandler(context.Background(), p, handle)
		if err != nil {
			t.Fatal(err)
		}
		// Not closed: Close waits for every handler, and the wedged ones never return.
		legacy := httptest.NewServer(rh)
		target = legacy.URL
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *soakInflight, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	res := soak(t, client, target, n, *soakInflight, *soakCancel, *soakTimeout)
	t.Logf("soak: %d requests, %d in flight, %d cancelled by their client: %d answered (%d 2xx), %d hung (no answer within %s); latency p50 %s p99 %s p99.9 %s max %s; %.0f requests/s",
		n, *soakInflight, res.cancelled, res.answered, res.ok, res.hung, *soakTimeout,
		res.pct(0.50), res.pct(0.99), res.pct(0.999), res.pct(1), res.perSecond)
	if res.hung > 0 {
		t.Errorf("%d requests hung (first: %s)", res.hung, res.firstHung)
	}
	if res.answered+res.hung+res.cancelled != n || res.ok != res.answered {
		t.Errorf("answered %d (%d 2xx) + hung %d + cancelled %d != %d requests (first error: %v)",
			res.answered, res.ok, res.hung, res.cancelled, n, res.firstErr)
	}

	// Every handler returns: no goroutine is left inside one (the wedged path leaves one
	// parked on its channel send per orphaned request, forever).
	tr.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	stuck, dump := handlersRunning()
	for stuck > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		stuck, dump = handlersRunning()
	}
	if stuck > 0 {
		t.Errorf("%d handlers still running after the soak:\n%s", stuck, dump)
	}
	t.Logf("handlers still running after the soak: %d", stuck)
}

// handlersRunning counts the goroutines inside an HTTP handler of this process, and
// returns their stacks.
func handlersRunning() (int, string) {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var dump strings.Builder
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "net/http.serverHandler.ServeHTTP") {
			n++
			if n <= 3 {
				dump.WriteString(g + "\n\n")
			}
		}
	}
	return n, dump.String()
}

type soakResult struct {
	answered, ok, hung, cancelled int
	latencies                     []time.Duration // answered requests
	perSecond                     float64
	firstHung                     string
	firstErr                      error
}

func (r soakResult) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := min(len(r.latencies)-1, max(0, int(p*float64(len(r.latencies)))-1))
	return r.latencies[i].Round(10 * time.Microsecond)
}

// soak sends n binary-mode deliveries, inflight at a time. Every cancelEvery-th
// request is abandoned mid-request; every other one must be answered within timeout.
func soak(t *testing.T, c *http.Client, target string, n, inflight, cancelEvery int, timeout time.Duration) soakResult {
	t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Minute) // bounds the whole run
	defer stop()
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  soakResult
		wg   sync.WaitGroup
	)
	run := time.Now().UnixNano()
	// Abandoned requests go over connections of their own: a cancellation on a kept-alive
	// connection can surface in Go's client as "context canceled" on the next request
	// that reuses it, which would count a client artifact against the server. The
	// server sees the same cancelled requests either way.
	quitter := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer quitter.CloseIdleConnections()
	start := time.Now()
	for w := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(run), uint64(w)))
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id := fmt.Sprintf("soak-%d-%d", run, i)
				job := fmt.Appendf(nil, `{"request_id":%q,"user_id":"soak-%d","status":"completed","video_url":"https://cdn.example/v.mp4","title":"Soak"}`, id, i%100)
				body := eventarc.PushBody(job, id, time.Now())
				if cancelEvery > 0 && i%cancelEvery == cancelEvery-1 {
					abandon(ctx, quitter, target, id, body, rng)
					mu.Lock()
					res.cancelled++
					mu.Unlock()
					continue
				}
				rctx, cancel := context.WithTimeout(ctx, timeout)
				sent := time.Now()
				code, err := deliver(rctx, c, target, id, body)
				took := time.Since(sent)
				cancel()
				mu.Lock()
				switch {
				case errors.Is(err, context.DeadlineExceeded):
					res.hung++
					if res.firstHung == "" {
						res.firstHung = id
					}
				case err != nil:
					if res.firstErr == nil {
						res.firstErr = err
					}
				default:
					res.answered++
					res.latencies = append(res.latencies, took)
					if code/100 == 2 {
						res.ok++
					} else if res.firstErr == nil {
						res.firstErr = fmt.Errorf("%s: status %d", id, code)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.perSecond = float64(n) / time.Since(start).Seconds()
	slices.Sort(res.latencies)
	return res
}

func ceRequest(ctx context.Context, target, id string, body io.Reader) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", id)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", eventarc.EventType)
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/p/topics/soak")
	return req
}

func deliver(ctx context.Context, c *http.Client, target, id string, body []byte) (int, error) {
	req := ceRequest(ctx, target, id, bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// abandon sends a request and gives up on it mid-way: either after half of the body
// (the server is reading it) or, with the body sent, after 0-500 µs of waiting for the
// answer (the server is handling it).
func abandon(ctx context.Context, c *http.Client, target, id string, body []byte, rng *rand.Rand) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if rng.IntN(2) == 0 {
		pr, pw := io.Pipe()
		req := ceRequest(rctx, target, id, pr)
		req.ContentLength = int64(len(body))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		_, _ = pw.Write(body[:len(body)/2])
		cancel()
		pw.CloseWithError(context.Canceled)
		<-done
		return
	}
	time.AfterFunc(time.Duration(rng.IntN(500))*time.Microsecond, cancel)
	_, _ = deliver(rctx, c, target, id, body)
}
