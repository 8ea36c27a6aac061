package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// newRoomsEnv is a server with rooms on (kept in memory).
func newRoomsEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	e := &env{t: t, rooms: MemoryRooms()}
	e.names.Prefix = fmt.Sprintf("r%d", prefixes.Add(1))
	e.rdb, e.pub = newBroker(t, e.names)
	e.start(mutate)
	return e
}

func roomToken(t testing.TB, user string, exp time.Duration, teacher bool, groups ...string) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": user, "exp": time.Now().Add(exp).Unix(), "groups": groups}
	if teacher {
		claims["roles"] = []string{"teacher"}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type wsFrame map[string]any

type socket struct {
	t *testing.T
	c *websocket.Conn
}

func (e *env) dial(room, tok, query string) (*socket, *http.Response, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	if tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	u := strings.Replace(e.url, "http://", "ws://", 1) + "/api/v1/rooms/" + room + "/ws" + query
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{roomsProtocol}})
	if err != nil {
		return nil, resp, err
	}
	c.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { _ = c.CloseNow() })
	return &socket{e.t, c}, resp, nil
}

// join dials and returns the socket with its welcome wsFrame.
func (e *env) join(room, tok, query string) (*socket, wsFrame) {
	e.t.Helper()
	s, _, err := e.dial(room, tok, query)
	if err != nil {
		e.t.Fatal(err)
	}
	w := s.next()
	if w["op"] != "welcome" {
		e.t.Fatalf("first wsFrame = %v, want welcome", w)
	}
	return s, w
}

func (s *socket) send(v any) {
	s.t.Helper()
	b, _ := json.Marshal(v)
	if err := s.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		s.t.Fatal(err)
	}
}

func (s *socket) read() (wsFrame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := s.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	var f wsFrame
	if err := json.Unmarshal(b, &f); err != nil {
		s.t.Fatalf("wsFrame %q is not JSON: %v", b, err)
	}
	return f, nil
}

func (s *socket) next() wsFrame {
	s.t.Helper()
	f, err := s.read()
	if err != nil {
		s.t.Fatal(err)
	}
	return f
}

// until reads until a wsFrame with op arrives.
func (s *socket) until(op string) wsFrame {
	s.t.Helper()
	for {
		if f := s.next(); f["op"] == op {
			return f
		}
	}
}

// closeCode reads until the server closes the socket and returns the code.
func (s *socket) closeCode() websocket.StatusCode {
	s.t.Helper()
	for {
		_, err := s.read()
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestRooms_WelcomeMessageStatePresence(t *testing.T) {
	t.Parallel()
	e := newRoomsEnv(t, nil)
	teacher, w := e.join("class-1", roomToken(t, "t-1", time.Hour, true, "class-1"), "")
	if w["room"] != "class-1" || w["state"] != nil || w["version"] != 0.0 || w["cursor"] != "0-0" ||
		len(w["messages"].([]any)) != 0 || fmt.Sprint(w["members"]) != "[map[teacher:true user:t-1]]" {
		t.Fatalf("welcome = %v", w)
	}
	student, w := e.join("class-1", roomToken(t, "s-1", time.Hour, false, "class-1", "other"), "")
	if fmt.Sprint(w["members"]) != "[map[teacher:false user:s-1] map[teacher:true user:t-1]]" {
		t.Fatalf("members = %v", w["members"])
	}
	if j := teacher.until("join"); j["user"] != "s-1" || j["teacher"] != false {
		t.Fatalf("join = %v", j)
	}

	student.send(wsFrame{"op": "send", "text": "why\nis it green?", "client_id": "c1"})
	for _, s := range []*socket{teacher, student} {
		m := s.until("message")
		if m["user"] != "s-1" || m["text"] != "why is it green?" || m["client_id"] != "c1" || m["id"] == "" || m["created_at"] == "" {
			t.Fatalf("message = %v", m)
		}
	}
	student.send(wsFrame{"op": "ping"})
	if f := student.next(); f["op"] != "pong" {
		t.Fatalf("ping → %v", f)
	}

	student.send(wsFrame{"op": "state", "state": wsFrame{"t": 1}, "version": 0})
	if f := student.until("error"); f["code"] != "forbidden" {
		t.Fatalf("student's state → %v", f)
	}
	teacher.send(wsFrame{"op": "state", "state": wsFrame{"playing": true, "t": 12.5}, "version": 0})
	for _, s := range []*socket{teacher, student} {
		f := s.until("state")
		if f["version"] != 1.0 || f["by"] != "t-1" || fmt.Sprint(f["state"]) != "map[playing:true t:12.5]" {
			t.Fatalf("state = %v", f)
		}
	}
	teacher.send(wsFrame{"op": "state", "state": wsFrame{"t": 3}, "version": 0})
	if f := teacher.until("error"); f["code"] != "conflict" {
		t.Fatalf("stale version → %v", f)
	}
	_, w = e.join("class-1", roomToken(t, "s-2", time.Hour, false, "class-1"), "")
	if w["version"] != 1.0 || fmt.Sprint(w["state"]) != "map[playing:true t:12.5]" || len(w["messages"].([]any)) != 1 {
		t.Fatalf("late joiner's welcome = %v", w)
	}

	_ = student.c.Close(websocket.StatusNormalClosure, "")
	if l := teacher.until("leave"); l["user"] != "s-1" {
		t.Fatalf("leave = %v", l)
	}
}

func TestRooms_Refusals(t *testing.T) {
	t.Parallel()
	e := newRoomsEnv(t, nil)
	cases := []struct {
		name string
		room string
		tok  string
		want websocket.StatusCode
	}{
		{"no credentials", "class-1", "", 4401},
		{"bad token", "class-1", "not-a-token", 4401},
		{"not a member", "class-1", roomToken(t, "s-9", time.Hour, false, "class-2"), 4403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := e.dial(tc.room, tc.tok, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := s.closeCode(); got != tc.want {
				t.Fatalf("close code = %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("bad room id", func(t *testing.T) {
		_, resp, err := e.dial("bad%20room", roomToken(t, "s-1", time.Hour, false, "class-1"), "")
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("dial = %v, %v; want 400", resp, err)
		}
	})
	t.Run("foreign origin", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h := http.Header{"Origin": {"https://evil.example"}, "Authorization": {"Bearer " + roomToken(t, "s-1", time.Hour, false, "class-1")}}
		_, resp, err := websocket.Dial(ctx, strings.Replace(e.url, "http", "ws", 1)+"/api/v1/rooms/class-1/ws",
			&websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{roomsProtocol}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("dial = %v, %v; want 403", resp, err)
		}
	})
}

func TestRooms_LimitsAndRateLimit(t *testing.T) {
	t.Parallel()
	e := newRoomsEnv(t, nil)
	s, _ := e.join("class-1", roomToken(t, "t-1", time.Hour, true, "class-1"), "")
	s.send(wsFrame{"op": "send", "text": strings.Repeat("a", 2001)})
	if f := s.until("error"); f["code"] != "invalid" {
		t.Fatalf("2001 characters → %v", f)
	}
	s.send(wsFrame{"op": "state", "state": wsFrame{"x": strings.Repeat("a", 8<<10)}, "version": 0})
	if f := s.until("error"); f["code"] != "invalid" {
		t.Fatalf("state over 8 KiB → %v", f)
	}
	s.send(wsFrame{"op": "dance"})
	if f := s.until("error"); f["code"] != "invalid" {
		t.Fatalf("unknown op → %v", f)
	}
	for i := range 11 { // burst 10
		s.send(wsFrame{"op": "send", "text": fmt.Sprint("m", i)})
	}
	if f := s.until("error"); f["code"] != "rate_limited" {
		t.Fatalf("11th message in a burst → %v", f)
	}
}

func TestRooms_ResumeAndReset(t *testing.T) {
	t.Parallel()
	e := newRoomsEnv(t, nil)
	tok := roomToken(t, "s-1", time.Hour, false, "class-1")
	s, _ := e.join("class-1", tok, "")
	var ids []string
	for i := range 3 {
		s.send(wsFrame{"op": "send", "text": fmt.Sprint("m", i)})
		ids = append(ids, s.until("message")["id"].(string))
	}
	_, w := e.join("class-1", tok, "?after="+ids[0])
	msgs := w["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["id"] != ids[1] || w["cursor"] != ids[2] || w["reset"] != nil {
		t.Fatalf("resume after the first: %v", w)
	}
	for _, bad := range []string{"garbage", "99999999999999-0"} {
		_, w = e.join("class-1", tok, "?after="+bad)
		if w["reset"] != true || len(w["messages"].([]any)) != 3 {
			t.Fatalf("after=%s: %v", bad, w)
		}
	}
}

func TestRooms_TokenExpiryAndDrain(t *testing.T) {
	t.Parallel()
	e := newRoomsEnv(t, nil)
	short, _ := e.join("class-1", roomToken(t, "s-1", 2*time.Second, false, "class-1"), "")
	if got := short.closeCode(); got != 4408 {
		t.Fatalf("expired token: close %d, want 4408", got)
	}
	s, _ := e.join("class-1", roomToken(t, "s-2", time.Hour, false, "class-1"), "")
	done := make(chan struct{})
	go func() { e.shutdown(); close(done) }()
	if got := s.closeCode(); got != websocket.StatusGoingAway {
		t.Fatalf("drain: close %d, want 1001", got)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal(errors.New("Serve did not return after draining rooms"))
	}
}
