package faults

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// roomMsg is a room message as a client keeps it.
type roomMsg struct {
	ID       string `json:"id"`
	User     string `json:"user"`
	Text     string `json:"text"`
	ClientID string `json:"client_id"`
}

// roomClient is one member's socket in a room, reconnecting as rooms.js does: to the
// next instance in urls, with ?after=<newest id seen>; a send whose echo was neither
// live nor in the replay is sent again after the welcome.
type roomClient struct {
	t     *testing.T
	user  string
	room  string
	token string
	urls  []string

	mu       sync.Mutex
	last     string
	seen     []roomMsg            // accepted messages, in arrival order
	members  map[string]bool      // the member list as this client was told
	pending  map[string]string    // client_id → text, echo not seen
	leftAt   map[string]time.Time // when a user left this client's list
	conn     *websocket.Conn
	opens    []string // the instance of each welcome
	stopping bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func joinRoomClient(t *testing.T, user, room, token string, urls ...string) *roomClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &roomClient{t: t, user: user, room: room, token: token, urls: urls, members: map[string]bool{},
		pending: map[string]string{}, leftAt: map[string]time.Time{}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go c.run()
	t.Cleanup(c.close)
	return c
}

func (c *roomClient) close() {
	c.cancel()
	<-c.done
}

// stop makes the client end with its socket, without reconnecting: a browser that went
// away with its instance.
func (c *roomClient) stop() {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
}

func (c *roomClient) run() {
	defer close(c.done)
	for i := 0; c.ctx.Err() == nil; i++ {
		url := c.urls[i%len(c.urls)]
		c.session(url)
		c.mu.Lock()
		stop := c.stopping
		c.mu.Unlock()
		if stop {
			return
		}
		select {
		case <-c.ctx.Done():
		case <-time.After(100 * time.Millisecond): // rooms.js: jittered backoff from 500 ms
		}
	}
}

// session is one socket's life: dial, welcome, frames until it fails.
func (c *roomClient) session(base string) {
	c.mu.Lock()
	after := c.last
	c.mu.Unlock()
	u := strings.Replace(base, "http://", "ws://", 1) + "/api/v1/rooms/" + c.room + "/ws"
	if after != "" {
		u += "?after=" + after
	}
	dctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	ws, _, err := websocket.Dial(dctx, u, &websocket.DialOptions{Subprotocols: []string{"vividly.rooms.v1"},
		HTTPHeader: http.Header{"Authorization": {"Bearer " + c.token}}})
	cancel()
	if err != nil {
		return
	}
	defer func() {
		c.mu.Lock()
		c.conn = nil // sends wait for the next welcome
		c.mu.Unlock()
		ws.CloseNow()
	}()
	ws.SetReadLimit(1 << 22)
	for {
		_, data, err := ws.Read(c.ctx)
		if err != nil {
			return
		}
		var f struct {
			Op       string `json:"op"`
			User     string `json:"user"`
			Members  []struct{ User string }
			Messages []roomMsg `json:"messages"`
			Cursor   string    `json:"cursor"`
			Reset    bool      `json:"reset"`
			roomMsg
		}
		if json.Unmarshal(data, &f) != nil {
			c.t.Errorf("%s: frame %s", c.user, data)
			return
		}
		c.frame(ws, base, f.Op, f.User, f.Members, f.Messages, f.Cursor, f.Reset, f.roomMsg)
	}
}

func (c *roomClient) frame(ws *websocket.Conn, base, op, user string, members []struct{ User string }, msgs []roomMsg, cursor string, reset bool, m roomMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch op {
	case "welcome":
		if reset && c.last != "" {
			c.t.Errorf("%s: welcome with reset on resume after %s", c.user, c.last)
		}
		c.members = map[string]bool{}
		for _, mb := range members {
			c.members[mb.User] = true
		}
		for _, m := range msgs {
			c.accept(m)
		}
		if c.last == "" || idAfter(cursor, c.last) {
			c.last = cursor
		}
		c.conn = ws
		c.opens = append(c.opens, base)
		for id, text := range c.pending { // never stored: send again
			c.write(map[string]string{"op": "send", "text": text, "client_id": id})
		}
	case "message":
		c.accept(m)
	case "join":
		c.members[user] = true
	case "leave":
		delete(c.members, user)
		c.leftAt[user] = time.Now()
	}
}

// accept keeps m unless it is not newer than the last message (the welcome had it).
func (c *roomClient) accept(m roomMsg) {
	if c.last != "" && !idAfter(m.ID, c.last) {
		return
	}
	c.last = m.ID
	c.seen = append(c.seen, m)
	delete(c.pending, m.ClientID)
}

func (c *roomClient) write(v any) {
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	_ = c.conn.Write(ctx, websocket.MessageText, b) // a failed write: pending resends it
}

// send posts text with id as its client_id, now or after the next welcome.
func (c *roomClient) send(id, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending[id] = text
	if c.conn != nil {
		c.write(map[string]string{"op": "send", "text": text, "client_id": id})
	}
}

func (c *roomClient) snapshot() (seen []roomMsg, members map[string]bool, opens []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := map[string]bool{}
	for u := range c.members {
		ms[u] = true
	}
	return append([]roomMsg(nil), c.seen...), ms, append([]string(nil), c.opens...)
}

func idAfter(a, b string) bool {
	x, err1 := rediskey.ParseStreamID(a)
	y, err2 := rediskey.ParseStreamID(b)
	return err1 == nil && (err2 != nil || x.Compare(y) > 0)
}

// newRoomToken signs a token for user with room in its groups and roles (if any).
func newRoomToken(user, room string, roles ...string) string {
	claims := jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix(), "groups": []string{room}}
	if len(roles) > 0 {
		claims["roles"] = roles
	}
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	return s
}
