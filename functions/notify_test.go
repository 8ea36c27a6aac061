package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// These tests drive the function the way Cloud Functions does: the Functions Framework
// serves the registered entry point over HTTP, configured only by the environment.

var (
	server  *redistest.Server
	baseURL string // Notify, as FUNCTION_TARGET=Notify serves it
	// publishURL is Publish, as FUNCTION_TARGET=Publish serves it: a second Functions
	// Framework server in this process (the framework reads FUNCTION_TARGET when it
	// starts, so each server is started once the one before it answers).
	publishURL string
)

const user = "6f1c2a8e-3b7d-4e0f-9c1a-5d2e8b7f4a31" // the user in testdata

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "notify-test")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		server, err = redistest.StartProcess(dir, redistest.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer server.Stop()
		os.Setenv("REDIS_ADDR", server.Addr)
		os.Setenv("MAX_EVENT_AGE", "8760h") // the testdata events are dated 2026-11-26
		os.Setenv("DEDUPE_TTL", "8761h")
		for _, fn := range []struct {
			target string
			url    *string
		}{{EntryPoint, &baseURL}, {PublishEntryPoint, &publishURL}} {
			if *fn.url, err = startFunction(fn.target); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}())
}

// startFunction serves the entry point target through the Functions Framework, as
// Cloud Functions does, and returns its URL once it answers.
func startFunction(target string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	os.Setenv("FUNCTION_TARGET", target)
	go func() { _ = funcframework.StartHostPort("127.0.0.1", port) }()
	url := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return url, nil
		}
		if i > 200 {
			return "", fmt.Errorf("function server for %s did not start", target)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorded turns a recorded HTTP request in testdata into a request to the function,
// with edit applied to its body and ce-id.
func recorded(t *testing.T, name string, edit func(string) string) *http.Request {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(head, "\n\n"...))))
	_, _ = tp.ReadLine()
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, baseURL, strings.NewReader(edit(string(bytes.TrimSpace(body)))))
	req.Header = http.Header(hdr)
	req.Header.Set("ce-id", edit(req.Header.Get("ce-id")))
	return req
}

func post(t testing.TB, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func logLen(t *testing.T) int64 {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr})
	defer rdb.Close()
	n, err := rdb.XLen(context.Background(), "notifications:{"+user+"}:log").Result()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	return n
}

func jsonBody(body string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, baseURL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// The tests share one Redis and run in order: each checks the log length it leaves.
func TestFunctionOverHTTP(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr})
	if err := rdb.FlushAll(context.Background()).Err(); err != nil { // a clean slate on -count=N
		t.Fatal(err)
	}
	rdb.Close()
	same := func(s string) string { return s }
	withID := func(id string) func(string) string {
		return func(s string) string { return strings.ReplaceAll(s, "12165864188103151", id) }
	}

	if got := post(t, recorded(t, "binary-mode.http", same)); got != http.StatusOK {
		t.Fatalf("binary mode: status %d", got)
	}
	if n := logLen(t); n != 1 {
		t.Fatalf("after first delivery: log has %d", n)
	}
	if got := post(t, recorded(t, "binary-mode.http", same)); got/100 != 2 {
		t.Fatalf("redelivery: status %d", got)
	}
	structured, _ := os.ReadFile("testdata/structured-mode.json")
	req := jsonBody(string(structured))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	if got := post(t, req); got/100 != 2 {
		t.Fatalf("structured redelivery: status %d", got)
	}
	if n := logLen(t); n != 1 {
		t.Fatalf("duplicates stored: log has %d, want 1", n)
	}

	push, _ := os.ReadFile("testdata/push-body.json")
	if got := post(t, jsonBody(withID("777")(string(push)))); got/100 != 2 {
		t.Fatalf("raw push body: status %d", got)
	}
	if n := logLen(t); n != 2 {
		t.Fatalf("after raw push body: log has %d, want 2", n)
	}

	// Rejected input is acknowledged (2xx), so Pub/Sub does not retry it forever.
	bad := recorded(t, "binary-mode.http", func(s string) string {
		return strings.ReplaceAll(s, `"data": "eyJ`, `"data": "!!!eyJ`)
	})
	bad.Header.Set("ce-id", "888")
	if got := post(t, bad); got/100 != 2 {
		t.Fatalf("malformed data: status %d, want 2xx", got)
	}
	if n := logLen(t); n != 2 {
		t.Fatalf("malformed data stored: log has %d", n)
	}

	// Redis down: 5xx so Pub/Sub retries; the retry after recovery is stored once.
	server.Stop()
	if got := post(t, recorded(t, "binary-mode.http", withID("999"))); got/100 != 5 {
		t.Fatalf("redis down: status %d, want 5xx", got)
	}
	if err := server.Restart(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := post(t, recorded(t, "binary-mode.http", withID("999"))); got/100 != 2 {
			t.Fatalf("retry after recovery: status %d", got)
		}
	}
	if n := logLen(t); n != 1 { // the restarted Redis has no persistence: only the retry
		t.Fatalf("after retry: log has %d, want 1", n)
	}
}

// TestBenignContentOverHTTP: a job event as real pipelines send it (newline title,
// stack trace, over-long text, a link that is not https) is delivered through the
// function as a cleaned notification, not refused. It uses its own user and a fresh
// message ID, so it neither sees nor disturbs TestFunctionOverHTTP's log.
func TestBenignContentOverHTTP(t *testing.T) {
	const benign = "benign-content-user"
	for i, tc := range []struct {
		name, job string
		want      map[string]any
	}{
		{"completed with a newline title and a javascript link",
			`{"request_id":"r-b1","user_id":"` + benign + `","status":"completed","video_url":"javascript:alert(1)","title":"Photosynthesis\nPart 2` + strings.Repeat("!", 400) + `"}`,
			map[string]any{"type": "video_complete", "request_id": "r-b1", "title": "Photosynthesis Part 2" + strings.Repeat("!", 278) + "…"}},
		{"failed with a stack trace",
			`{"request_id":"r-b2","user_id":"` + benign + `","status":"failed","error":"Traceback:\r\n\tFile \"render.py\"\r\n"}`,
			map[string]any{"type": "video_failed", "request_id": "r-b2", "error": "Traceback: File \"render.py\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("benign-%d-%d", i, time.Now().UnixNano())
			req, _ := http.NewRequest(http.MethodPost, baseURL, bytes.NewReader(eventarc.PushBody([]byte(tc.job), id, time.Now())))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("ce-id", id)
			req.Header.Set("ce-specversion", "1.0")
			req.Header.Set("ce-type", eventarc.EventType)
			req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/p/topics/content-job-finished")
			if got := post(t, req); got/100 != 2 {
				t.Fatalf("status %d", got)
			}
			rdb := redis.NewClient(&redis.Options{Addr: server.Addr})
			defer rdb.Close()
			entries, err := rdb.XRevRangeN(context.Background(), "notifications:{"+benign+"}:log", "+", "-", 1).Result()
			if err != nil || len(entries) != 1 {
				t.Fatalf("log of %s: %v, %v; want the notification", benign, entries, err)
			}
			raw, _ := entries[0].Values["n"].(string)
			if strings.ContainsAny(raw, "\r\n") {
				t.Fatalf("stored JSON is not one line: %q", raw)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatal(err)
			}
			delete(got, "created_at")
			delete(got, "id")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stored notification (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewHandlerConfigErrors(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no redis":      {},
		"bad level":     {"REDIS_ADDR": "127.0.0.1:1", "LOG_LEVEL": "chatty"},
		"missing CA":    {"REDIS_ADDR": "127.0.0.1:1", "REDIS_TLS_CA": "/nonexistent/ca.pem"},
		"age vs dedupe": {"REDIS_ADDR": "127.0.0.1:1", "MAX_EVENT_AGE": "48h"},
	} {
		_, err := newHandlers(context.Background(), func(k string) string { return env[k] }, prometheus.NewRegistry())
		if err == nil {
			t.Errorf("%s: newHandlers succeeded", name)
		}
	}
	if err := Setup(); err != nil { // TestMain configured a valid environment
		t.Fatalf("Setup: %v", err)
	}
}
