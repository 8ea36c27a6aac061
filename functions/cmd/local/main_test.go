package main

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// announcement is a valid Publish message: Publish tries to store it (and, with Redis
// at a closed port, answers 500 for a retry); Notify refuses it as a job event that
// has no user_id (and acknowledges it: 200). So the answer tells which entry point
// served it.
const announcement = `{"type":"announcement","audience":{"all":true},"title":"Maintenance tonight"}`

// start runs bin/notify's run() as the binary does, with FUNCTION_TARGET target
// (empty: unset), and returns its base URL once the Functions Framework answers.
// (The Redis client dials lazily; Redis at 127.0.0.1:1 is never there.) A port taken
// by another process between choosing and binding it is retried with another.
func start(t *testing.T, target string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		base, err := tryStart(t, target)
		if err == nil {
			return base
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatalf("run returned: %v", err)
		}
	}
}

func tryStart(t *testing.T, target string) (string, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	t.Setenv("PORT", port)
	t.Setenv("HOST", "127.0.0.1") // the test's server listens on loopback only
	t.Setenv("REDIS_ADDR", "127.0.0.1:1")
	t.Setenv("FUNCTION_TARGET", target)
	errs := make(chan error, 1)
	go func() { errs <- run() }()
	base := "http://127.0.0.1:" + port + "/"
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-errs:
			return "", err
		default:
		}
		resp, err := http.Get(base)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("GET / answered 200; the function must refuse it")
			}
			return base, nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("bin/notify did not listen on %s: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post delivers data as Eventarc does (binary mode) and returns the status.
func post(t *testing.T, base, data string) int {
	t.Helper()
	id := strconv.FormatInt(time.Now().UnixNano(), 10)
	req, _ := http.NewRequest(http.MethodPost, base, bytes.NewReader(eventarc.PushBody([]byte(data), id, time.Now())))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", id)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", eventarc.EventType)
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/local/topics/notifications")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServesTheTargetEntryPoint: without FUNCTION_TARGET bin/notify serves Notify,
// with FUNCTION_TARGET=Publish it serves Publish, each at "/". Not parallel: the
// environment is the process's.
func TestServesTheTargetEntryPoint(t *testing.T) {
	for _, tc := range []struct {
		target string
		status int
	}{
		{"", http.StatusOK},                         // Notify: not a job event, acknowledged
		{"Notify", http.StatusOK},                   // the same, named
		{"Publish", http.StatusInternalServerError}, // Publish: stored in Redis, which is down: retry
	} {
		base := start(t, tc.target)
		if got := post(t, base, announcement); got != tc.status {
			t.Errorf("FUNCTION_TARGET=%q: an announcement answered %d, want %d", tc.target, got, tc.status)
		}
	}
}

func TestUnknownTargetFails(t *testing.T) {
	t.Setenv("REDIS_ADDR", "127.0.0.1:1")
	t.Setenv("FUNCTION_TARGET", "Notfy")
	err := run()
	if err == nil || !strings.Contains(err.Error(), `unknown entry point "Notfy"`) || !strings.Contains(err.Error(), "Notify, Publish") {
		t.Fatalf("run() = %v; want an error naming the entry points", err)
	}
}
