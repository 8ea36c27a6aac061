package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// received is one command as the fake Firefox decoded it.
type received struct {
	ID     int64           `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// hangUp, passed to send, makes the fake Firefox drop the connection.
type hangUp struct{}

// fakeFirefox serves one WebDriver BiDi WebSocket and hands each command to handle,
// which answers through send (any number of messages, or none). It returns a conn
// connected to it and a channel of the events that conn delivered.
func fakeFirefox(t *testing.T, handle func(cmd received, send func(v any))) (*conn, <-chan string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		var wmu sync.Mutex // send may be called from goroutines the handler starts
		send := func(v any) {
			if _, ok := v.(hangUp); ok {
				_ = ws.CloseNow()
				return
			}
			data, err := json.Marshal(v)
			if err != nil {
				panic(err)
			}
			wmu.Lock()
			defer wmu.Unlock()
			_ = ws.Write(r.Context(), websocket.MessageText, data)
		}
		for {
			_, data, err := ws.Read(r.Context())
			if err != nil {
				return
			}
			var cmd received
			if err := json.Unmarshal(data, &cmd); err != nil {
				t.Errorf("fake firefox: bad command %s: %v", data, err)
				return
			}
			handle(cmd, send)
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 100)
	c := newConn(ws, func(method string, params json.RawMessage) {
		events <- method + " " + string(params)
	})
	t.Cleanup(func() {
		c.close()
		srv.Close()
	})
	return c, events
}

func success(id int64, result any) map[string]any {
	return map[string]any{"type": "success", "id": id, "result": result}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCallDecodesResultAndSendsParams(t *testing.T) {
	t.Parallel()
	c, _ := fakeFirefox(t, func(cmd received, send func(any)) {
		send(success(cmd.ID, map[string]any{"method": cmd.Method, "params": cmd.Params}))
	})
	cases := []struct {
		name   string
		params any
		want   string
	}{
		{"nil params become an empty object", nil, `{}`},
		{"params as given", map[string]any{"context": "abc", "wait": "complete"}, `{"context":"abc","wait":"complete"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			if err := c.call(testContext(t), "browsingContext.navigate", tc.params, &got); err != nil {
				t.Fatal(err)
			}
			if got.Method != "browsingContext.navigate" || string(got.Params) != tc.want {
				t.Errorf("Firefox got %s %s, want browsingContext.navigate %s", got.Method, got.Params, tc.want)
			}
		})
	}
}

func TestCallReturnsErrorResponse(t *testing.T) {
	t.Parallel()
	c, _ := fakeFirefox(t, func(cmd received, send func(any)) {
		send(map[string]any{"type": "error", "id": cmd.ID, "error": "no such frame",
			"message": "Browsing context with id 42 not found", "stacktrace": "…"})
	})
	err := c.call(testContext(t), "browsingContext.close", map[string]any{"context": "42"}, nil)
	var bidiErr *Error
	if !errors.As(err, &bidiErr) {
		t.Fatalf("err = %v (%T), want *Error", err, err)
	}
	want := Error{Method: "browsingContext.close", Code: "no such frame", Message: "Browsing context with id 42 not found"}
	if *bidiErr != want {
		t.Errorf("error = %+v, want %+v", *bidiErr, want)
	}
}

func TestConcurrentCallsGetTheirOwnResponses(t *testing.T) {
	t.Parallel()
	const n = 20
	var mu sync.Mutex
	var held []received
	c, _ := fakeFirefox(t, func(cmd received, send func(any)) {
		// Hold every command until all have arrived, then answer in reverse order.
		mu.Lock()
		defer mu.Unlock()
		held = append(held, cmd)
		if len(held) < n {
			return
		}
		for i := len(held) - 1; i >= 0; i-- {
			send(success(held[i].ID, map[string]any{"echo": json.RawMessage(held[i].Params)}))
		}
	})
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var got struct {
				Echo struct{ N int } `json:"echo"`
			}
			if err := c.call(ctx, "script.evaluate", map[string]int{"N": i}, &got); err != nil {
				t.Error(err)
				return
			}
			if got.Echo.N != i {
				t.Errorf("call %d got the response to %d", i, got.Echo.N)
			}
		})
	}
	wg.Wait()
}

func TestEventsArriveInOrderBeforeTheResponse(t *testing.T) {
	t.Parallel()
	c, events := fakeFirefox(t, func(cmd received, send func(any)) {
		for i := range 3 {
			send(map[string]any{"type": "event", "method": "log.entryAdded", "params": map[string]int{"n": i}})
		}
		send(success(cmd.ID, map[string]any{}))
	})
	if err := c.call(testContext(t), "script.evaluate", nil, nil); err != nil {
		t.Fatal(err)
	}
	// The read goroutine delivers events synchronously, so all three are in the
	// channel by the time the response that followed them has been handed over.
	for i := range 3 {
		select {
		case got := <-events:
			if want := fmt.Sprintf(`log.entryAdded {"n":%d}`, i); got != want {
				t.Errorf("event %d = %s, want %s", i, got, want)
			}
		default:
			t.Fatalf("event %d not delivered before the response", i)
		}
	}
}

func TestCancelledCallLeavesConnectionUsable(t *testing.T) {
	t.Parallel()
	c, _ := fakeFirefox(t, func(cmd received, send func(any)) {
		if cmd.Method == "slow" {
			go func() {
				time.Sleep(200 * time.Millisecond) // answer after the caller gave up
				send(success(cmd.ID, map[string]any{}))
			}()
			return
		}
		send(success(cmd.ID, map[string]string{"ok": "yes"}))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.call(ctx, "slow", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call: err = %v, want DeadlineExceeded", err)
	}
	time.Sleep(300 * time.Millisecond) // the late response arrives and is dropped
	var got map[string]string
	if err := c.call(testContext(t), "fast", nil, &got); err != nil || got["ok"] != "yes" {
		t.Fatalf("call after a cancelled one: %v, %v", got, err)
	}
}

func TestConnectionLossReleasesWaitingCalls(t *testing.T) {
	t.Parallel()
	drop := make(chan struct{})
	c, _ := fakeFirefox(t, func(cmd received, send func(any)) {
		<-drop // never answers
		send(hangUp{})
	})
	errc := make(chan error, 1)
	go func() { errc <- c.call(context.Background(), "script.evaluate", nil, nil) }()
	time.Sleep(50 * time.Millisecond)
	close(drop)
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call still waiting after the connection dropped")
	}
	if err := c.call(testContext(t), "script.evaluate", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after the drop: err = %v, want ErrClosed", err)
	}
}

func TestCallAfterCloseFails(t *testing.T) {
	t.Parallel()
	c, _ := fakeFirefox(t, func(cmd received, send func(any)) { send(success(cmd.ID, map[string]any{})) })
	c.close()
	c.close() // twice is fine
	err := c.call(testContext(t), "session.end", nil, nil)
	if !errors.Is(err, ErrClosed) || err.Error() != "session.end: "+ErrClosed.Error() {
		t.Errorf("err = %v, want plain ErrClosed after our own close", err)
	}
}
