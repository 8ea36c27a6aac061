package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/listenfd"
)

// TestLocalSystemProcess is not a test: TestLocalPublish runs the test binary again with
// LOCAL_SYSTEM_CHILD set, and this runs the local system in that child process until it
// is signalled. (The Functions Framework keeps one registry per process, so a second
// run() in the test process — TestSecurity_LocalSystemLoopbackOnly has the first —
// would register "/" twice.)
func TestLocalSystemProcess(t *testing.T) {
	if os.Getenv("LOCAL_SYSTEM_CHILD") == "" {
		t.Skip("runs only as TestLocalPublish's child")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// TestLocalPublish: `make run` serves the Publish entry point at /publish on the
// function port and says so in its banner; an announcement posted there as Eventarc
// would (binary mode) reaches the development user's history — a broadcast and one to a
// user list naming them — while one for a group they are not in, or a refused one, does
// not; a scheduled one appears only after its send_at, a cancelled one never. The
// function's settings apply as deployed: with MAX_EVENT_AGE=1h an event published 2 h
// ago is dropped (the local system once wired the function with a fixed 24 h).
func TestLocalPublish(t *testing.T) {
	// The ports are bound here and handed over (LISTEN_FD, FUNCTION_LISTEN_FD): no other
	// program can take one before the child serves it.
	files, ports := make([]*os.File, 2), make([]string, 2)
	for i := range files {
		f, addr, err := listenfd.Bind("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i], ports[i] = f, addr[strings.LastIndex(addr, ":")+1:]
	}
	port, fnPort := ports[0], ports[1]
	const secret = "local-publish-test-secret-0123456789abcdef"
	cmd := exec.Command(os.Args[0], "-test.run=^TestLocalSystemProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "LOCAL_SYSTEM_CHILD=1", "LISTEN_FD=3", "FUNCTION_LISTEN_FD=4",
		"LOCAL_JWT_SECRET="+secret, "DEV_USER=student-7", "LOG_LEVEL=warn", "REDIS_ADDR=", "MAX_EVENT_AGE=1h")
	cmd.ExtraFiles = files
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		f.Close() // the child holds its own descriptors
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	base := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("local system not ready:\n%s", out.String())
		}
	}
	publishURL := "http://127.0.0.1:" + fnPort + publishPath
	if !strings.Contains(out.String(), publishURL) || !strings.Contains(out.String(), "curl -sS -X POST "+publishURL) {
		t.Errorf("the banner does not show %s with a curl example:\n%s", publishURL, out.String())
	}

	sendAt := func(id, data string, published time.Time) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, publishURL, bytes.NewReader(eventarc.PushBody([]byte(data), "", published)))
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
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s (%s): %d", publishPath, id, resp.StatusCode)
		}
	}
	send := func(id, data string) { t.Helper(); sendAt(id, data, time.Time{}) }
	send("a-1", `{"type":"announcement","severity":"warning","audience":{"all":true},"title":"Maintenance tonight"}`)
	send("a-1", `{"type":"announcement","severity":"warning","audience":{"all":true},"title":"Maintenance tonight"}`) // redelivered
	send("a-2", `{"type":"grade_posted","severity":"success","audience":{"users":["student-7","student-8"]},"title":"Quiz 3 graded"}`)
	send("a-3", `{"type":"announcement","audience":{"groups":["teachers"]},"title":"Staff meeting"}`)
	send("a-4", `{"type":"reset","audience":{"users":["student-7"]},"title":"refused"}`)
	sendAt("a-8", `{"type":"grade_posted","audience":{"users":["student-7"]},"title":"Too old"}`, time.Now().Add(-2*time.Hour))

	// Scheduled (send_at): kept by the local system's schedule, released by its stream.
	soon := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	send("a-5", `{"type":"deadline","severity":"warning","audience":{"users":["student-7"]},"title":"Homework due","send_at":"`+soon+`","schedule_key":"hw"}`)
	send("a-6", `{"type":"deadline","audience":{"users":["student-7"]},"title":"Withdrawn","send_at":"`+soon+`","schedule_key":"bye"}`)
	send("a-7", `{"type":"cancel","schedule_key":"bye"}`)

	token, err := devToken(secret, "student-7", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	history := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/notifications", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Notifications []struct{ Type, Title, Severity string } `json:"notifications"`
		}
		if err := json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&page); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range page.Notifications {
			got = append(got, n.Type+"/"+n.Severity+"/"+n.Title)
		}
		return strings.Join(got, ",")
	}
	want := "announcement/warning/Maintenance tonight,grade_posted/success/Quiz 3 graded"
	if got := history(); got != want {
		t.Errorf("history of student-7: %q, want %q (nothing scheduled yet)", got, want)
	}
	want += ",deadline/warning/Homework due"
	for deadline := time.Now().Add(5 * time.Second); history() != want; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("history of student-7 after send_at: %q, want %q (the cancelled one never)", history(), want)
		}
	}
}
