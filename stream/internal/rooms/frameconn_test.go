package rooms

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestFrameConnLeavesNothingBuffered: messages the client sent back to back (payload
// lengths in each of the three encodings) are read one at a time, each after waiting
// on the bare connection — which would time out if gorilla's buffer held the next.
func TestFrameConnLeavesNothingBuffered(t *testing.T) {
	t.Parallel()
	srv := make(chan *websocket.Conn, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{ReadBufferSize: 512}).Upgrade(FrameWriter(w), r, nil)
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
	fc, ok := c.NetConn().(*FrameConn)
	if !ok {
		t.Fatalf("the upgrade gave %T, not a FrameConn", c.NetConn())
	}
	msgs := [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 300), bytes.Repeat([]byte("c"), 70000), []byte("d")}
	for _, m := range msgs {
		if err := client.WriteMessage(websocket.TextMessage, m); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // all of them arrive before the first read
	for i, want := range msgs {
		_ = fc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if ok, err := waitReadable(fc.Conn); !ok || err != nil {
			t.Fatalf("message %d: wait = %v, %v (the previous read left it in gorilla's buffer)", i, ok, err)
		}
		_, got, err := c.ReadMessage()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d bytes, %v", i, len(got), err)
		}
	}
}
