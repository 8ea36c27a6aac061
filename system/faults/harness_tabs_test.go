package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// newToken signs a token for user; groups, when there are any, go into its groups claim
// (JWT_GROUPS_CLAIM's default), and the stream then reads those groups' logs too.
func newToken(user string, groups []string, life time.Duration) string {
	claims := jwt.MapClaims{"sub": user, "exp": time.Now().Add(life).Unix()}
	if len(groups) > 0 {
		claims["groups"] = groups
	}
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	return s
}

// tab is one browser tab: an EventSource-like client that reconnects with its last id
// (the SSE id: the stream's cursor, opaque to the tab).
type tab struct {
	user   string
	groups []string // its tokens' groups claim
	mu     sync.Mutex
	ids    []string             // the notification ids (the data's "id") in arrival order
	seen   map[string]bool      // the distinct ones
	got    map[string]time.Time // first arrival of each id
	// mangle, when set, rewrites the last id before the tab resumes with it: a client
	// that breaks the cursor, for the checker's own test (TestFaultChecker...).
	mangle func(string) string

	resets, reconnects atomic.Int64
	openedAt           atomic.Int64  // unix ns of the latest successful open
	connected          chan struct{} // closed on the first successful open
	once               sync.Once
}

func newTab(user string, groups []string) *tab {
	return &tab{user: user, groups: groups, seen: map[string]bool{}, got: map[string]time.Time{}, connected: make(chan struct{})}
}

// resumeFrom is the Last-Event-ID the tab sends: its last id (mangled, for a broken
// client).
func (tb *tab) resumeFrom(last string) string {
	if tb.mangle != nil && last != "" {
		return tb.mangle(last)
	}
	return last
}

// run keeps the tab connected to base() until ctx ends. tokenLife is the life of each
// token it presents (a fresh one per connection, as an app would).
func (tb *tab) run(ctx context.Context, base func() string, tokenLife time.Duration) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	last := ""
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base()+"/api/v1/notifications/stream", nil)
		req.Header.Set("Authorization", "Bearer "+newToken(tb.user, tb.groups, tokenLife))
		if from := tb.resumeFrom(last); from != "" {
			req.Header.Set("Last-Event-ID", from)
		}
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			if err == nil {
				resp.Body.Close()
			}
			tb.reconnects.Add(1)
			sleepCtx(ctx, 50*time.Millisecond)
			continue
		}
		last = tb.read(resp.Body, last)
		resp.Body.Close()
		tb.reconnects.Add(1)
		sleepCtx(ctx, 20*time.Millisecond)
	}
}

// read consumes one connection's frames and returns the last id seen. Every
// notification frame (any event but reset and read) is recorded by the id in its data.
func (tb *tab) read(body io.Reader, last string) string {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var id, event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == ": ok":
			tb.openedAt.Store(time.Now().UnixNano())
			tb.once.Do(func() { close(tb.connected) })
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		case line == "":
			if id != "" {
				last = id // as EventSource does for any frame with an id, events or not
			}
			switch event {
			case "reset":
				tb.resets.Add(1)
			case "", "read":
			default:
				var n struct {
					ID string `json:"id"`
				}
				if json.Unmarshal([]byte(data), &n) != nil || n.ID == "" {
					n.ID = "unreadable " + event + " frame: " + data // counted as foreign
				}
				tb.mu.Lock()
				tb.ids = append(tb.ids, n.ID)
				if !tb.seen[n.ID] {
					tb.seen[n.ID] = true
					tb.got[n.ID] = time.Now()
				}
				tb.mu.Unlock()
			}
			id, event, data = "", "", ""
		}
	}
	return last
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
