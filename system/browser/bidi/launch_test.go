package bidi

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestFindNamesTheInstallScript(t *testing.T) {
	// Not parallel: it empties PATH.
	t.Setenv("PATH", t.TempDir())
	_, err := Launch(testContext(t), Options{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "scripts/ensure-deps.sh") {
		t.Errorf("Launch without Firefox = %v, want ErrNotFound naming scripts/ensure-deps.sh", err)
	}
}

// fakeBinary writes an executable shell script standing in for Firefox.
func fakeBinary(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "firefox")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLaunchFailures(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	cases := []struct {
		name    string
		opts    Options
		wantErr []string
	}{
		{
			name:    "no such binary",
			opts:    Options{Binary: filepath.Join(t.TempDir(), "missing")},
			wantErr: []string{"start ", "no such file"},
		},
		{
			name:    "exits before listening",
			opts:    Options{Binary: fakeBinary(t, "echo 'Error: cannot open display' >&2\nexit 3\n")},
			wantErr: []string{"firefox exited before listening", "exit status 3", "Error: cannot open display"},
		},
		{
			name: "never listens",
			opts: Options{
				Binary:       fakeBinary(t, "echo $$ > "+pidFile+"\necho starting\nexec sleep 60\n"),
				StartTimeout: 300 * time.Millisecond,
			},
			wantErr: []string{"wait for firefox to listen", "deadline exceeded", "starting"},
		},
		{
			name:    "bad pref",
			opts:    Options{Prefs: map[string]any{"x": []int{1}}},
			wantErr: []string{"write user.js", "not a bool, int or string"},
		},
	}
	t.Run("cases", func(t *testing.T) { // returns once its parallel subtests have
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b, err := Launch(testContext(t), tc.opts)
				if err == nil {
					b.Close()
					t.Fatal("Launch succeeded")
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
			})
		}
	})
	// The process that never listened was killed and reaped.
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the fake firefox (pid %d) is still there after Launch failed", pid)
	}
}

// groupMembers lists the live (not zombie) processes in process group pgid.
func groupMembers(t *testing.T, pgid int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var members []string
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		members = append(members, s[:i+1])
	}
	return members
}

func TestCloseLeavesNothingBehind(t *testing.T) {
	// Not parallel: it launches its own Firefox, and the goroutine count means
	// something.
	srv := testServer(t)
	goroutines := runtime.NumGoroutine()
	ctx := testContext(t)
	start := time.Now()
	b, err := Launch(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("launched %s in %v", b.Version(), time.Since(start).Round(time.Millisecond))
	tab, err := b.NewTab(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.Navigate(ctx, srv.URL); err != nil { // starts a content process
		t.Fatal(err)
	}
	pid, profile := b.PID(), b.profile
	if members := groupMembers(t, pid); len(members) < 2 {
		t.Fatalf("Firefox's process group has %v; want the main and content processes", members)
	}

	start = time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %v", time.Since(start).Round(time.Millisecond))
	if members := groupMembers(t, pid); len(members) > 0 {
		t.Errorf("processes left behind: %v", members)
	}
	if _, err := os.Stat(profile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("profile %s still there: %v", profile, err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.NewTab(ctx, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("NewTab after Close = %v, want ErrClosed", err)
	}
	if err := tab.Eval(ctx, `1`, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Eval after Close = %v, want ErrClosed", err)
	}
	// Every goroutine Launch started has returned (the test server's connection
	// goroutines end a moment after Firefox's sockets close).
	waitFor(t, "goroutines to return", func() bool { return runtime.NumGoroutine() <= goroutines })
}

func TestFirefoxDeathFailsCalls(t *testing.T) {
	// Not parallel, like every test that launches a Firefox of its own: a few at
	// once on two cores slow each other's startup several times over.
	b := launch(t, Options{})
	tab := newTab(t, b, "")
	if err := syscall.Kill(b.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "calls to fail with ErrClosed", func() bool {
		return errors.Is(tab.Eval(testContext(t), `1`, nil), ErrClosed)
	})
	pid, profile := b.PID(), b.profile
	if err := b.Close(); err != nil {
		t.Errorf("Close after a crash: %v", err)
	}
	if members := groupMembers(t, pid); len(members) > 0 {
		t.Errorf("processes left behind: %v", members)
	}
	if _, err := os.Stat(profile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("profile %s still there: %v", profile, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestNothingLeavesTheMachine points Firefox's proxy at a recorder on loopback:
// any HTTP(S) request to an outside host during launch, a page load and a few
// seconds of idling would reach it. (Loopback itself is never proxied.) Sockets
// outside the proxy are refused by MOZ_DISABLE_NONLOCAL_CONNECTIONS, which says so
// on stderr.
func TestNothingLeavesTheMachine(t *testing.T) {
	// Not parallel: it launches its own Firefox.
	var mu sync.Mutex
	var requests []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.Host+r.URL.Path)
		mu.Unlock()
		http.Error(w, "tests have no internet", http.StatusForbidden)
	}))
	t.Cleanup(proxy.Close)
	host, portText, _ := net.SplitHostPort(proxy.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)

	var out syncBuffer
	start := time.Now()
	b := launch(t, Options{Output: &out, Prefs: map[string]any{
		"network.proxy.type":                 1, // manual
		"network.proxy.http":                 host,
		"network.proxy.http_port":            port,
		"network.proxy.ssl":                  host,
		"network.proxy.ssl_port":             port,
		"network.proxy.share_proxy_settings": true,
	}})
	t.Logf("launched %s in %v", b.Version(), time.Since(start).Round(time.Millisecond))

	srv := testServer(t)
	tab := open(t, b, "", srv.URL)
	var pong map[string]bool
	if err := tab.Eval(testContext(t), `(await fetch("/ping")).json()`, &pong); err != nil || !pong["pong"] {
		t.Fatalf("fetch from the loopback page: %v, %v", pong, err)
	}
	time.Sleep(3 * time.Second) // background services start shortly after launch

	mu.Lock()
	defer mu.Unlock()
	if len(requests) > 0 {
		t.Errorf("Firefox tried to reach the outside: %q", requests)
	}
	if strings.Contains(out.String(), "Non-local network connections are disabled") {
		t.Errorf("Firefox opened a non-local socket:\n%s", out.String())
	}
}
