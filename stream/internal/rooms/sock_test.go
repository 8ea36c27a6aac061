package rooms

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// pop takes the oldest queued frame of a socket without a writer (tests of the hub).
func (s *sock) pop() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) == 0 {
		return "", false
	}
	f := s.q[0]
	s.q = s.q[1:]
	return string(f.frame), true
}

func (s *sock) next(t *testing.T) string {
	t.Helper()
	f, ok := s.pop()
	if !ok {
		t.Fatal("no frame queued")
	}
	return f
}

// TestSlowSocketDropped: a socket that lets queueSize frames wait is dropped and takes
// no more, while the room's other socket still gets every frame.
func TestSlowSocketDropped(t *testing.T) {
	t.Parallel()
	h, err := NewHub(NewMemory(time.Now), NewMemory(time.Now), "i", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	slow, _ := h.enter(context.Background(), "r", nil)
	fast, _ := h.enter(context.Background(), "r", nil)
	for i := range queueSize + 1 {
		h.Deliver("r", messageFrame(Message{ID: fmt.Sprint(i+1, "-0")}))
		if i < queueSize {
			fast.next(t) // this one keeps up
		}
	}
	fast.next(t)
	if !slow.done {
		t.Fatalf("a socket with %d frames waiting was not dropped", queueSize)
	}
	h.Deliver("r", messageFrame(Message{ID: "999-0"}))
	if len(slow.q) != queueSize {
		t.Fatalf("a dropped socket queued more: %d", len(slow.q))
	}
	if f := fast.next(t); !strings.Contains(f, "999-0") {
		t.Fatalf("the room stalled: %s", f)
	}
}

// TestWriterRunsOnlyWhileQueued: frames reach the socket in order, the welcome's stale
// ones skipped, and the writer goroutine ends once the queue is empty.
func TestWriterRunsOnlyWhileQueued(t *testing.T) {
	t.Parallel()
	srv := make(chan *websocket.Conn, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		srv <- c
	}))
	defer ts.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := <-srv
	defer c.Close()
	ss := &session{c: c, j: Join{Member: Member{User: "u"}, Write: 5 * time.Second}, cursor: "2-0", version: 3}
	s := &sock{out: ss}
	for _, f := range [][]byte{messageFrame(Message{ID: "2-0"}), stateFrame(State{Version: 3}),
		presenceFrame("join", Member{User: "u"}), messageFrame(Message{ID: "3-0"}), stateFrame(State{Version: 4})} {
		var hd head
		_ = json.Unmarshal(f, &hd)
		s.push(item{frame: f, head: &hd})
	}
	if s.writing {
		t.Fatal("a writer ran before the welcome went out")
	}
	s.start()
	for _, want := range []string{`"id":"3-0"`, `"version":4`} {
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := client.ReadMessage()
		if err != nil || !strings.Contains(string(got), want) {
			t.Fatalf("read %s, %v; want %s", got, err, want)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		idle := !s.writing
		s.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer did not end with the queue empty")
		}
	}
}
