package main

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestServes starts bin/notify's run() as the binary does and checks the Functions
// Framework answers on PORT. (The Redis client dials lazily; no event is sent here —
// the function's HTTP behaviour is tested in the root package.)
func TestServes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	t.Setenv("PORT", port)
	t.Setenv("REDIS_ADDR", "127.0.0.1:1")
	errs := make(chan error, 1)
	go func() { errs <- run() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-errs:
			t.Fatalf("run returned: %v", err)
		default:
		}
		resp, err := http.Get("http://127.0.0.1:" + port + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("GET / answered 200; a CloudEvent function must refuse it")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bin/notify did not listen on %s: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
