package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// A room socket of the system under test (-mode rooms): ours (the rooms contract,
// docs/PROTOCOL.md "Rooms over WebSockets") or Centrifugo's bidirectional WebSocket with its JSON protocol.
// Every measured frame carries a sequence number: a message's text is "m<seq>", a
// state carries {"seq": <seq>}; onFrame gets ('m' | 's', seq) for each one received.

type roomSock interface {
	sendText(ctx context.Context, seq int64) error
	sendState(ctx context.Context, seq int64) error
	close()
}

type roomDial func(ctx context.Context, hc *http.Client, room, user string, teacher bool, onFrame func(kind byte, seq int64)) (roomSock, error)

// roomToken signs the member's token: the room in groups (ours), the teacher role.
func roomToken(secret, room, user string, teacher bool) string {
	c := jwt.MapClaims{"sub": user, "exp": time.Now().Add(2 * time.Hour).Unix(), "groups": []string{room}}
	if teacher {
		c["roles"] = []string{"teacher"}
	}
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	return s
}

// sourceClient dials from source address 127.0.0.<n>, so many sockets do not exhaust
// one address's ephemeral ports.
func sourceClient(n int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}, Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

func wsURL(base, path string) string {
	return strings.Replace(strings.Replace(base, "https://", "wss://", 1), "http://", "ws://", 1) + path
}

// oursSock is a socket of our rooms endpoint; the teacher tracks the state's version.
type oursSock struct {
	c       *websocket.Conn
	wmu     sync.Mutex
	mu      sync.Mutex
	version int64
	done    chan struct{}
	closing atomic.Bool
}

// oursDialer returns the dial function of our endpoint at base.
func oursDialer(base, secret string) roomDial {
	return func(ctx context.Context, hc *http.Client, room, user string, teacher bool, onFrame func(byte, int64)) (roomSock, error) {
		c, _, err := websocket.Dial(ctx, wsURL(base, "/api/v1/rooms/"+room+"/ws"), &websocket.DialOptions{
			HTTPClient: hc, Subprotocols: []string{"vividly.rooms.v1"},
			HTTPHeader: http.Header{"Authorization": {"Bearer " + roomToken(secret, room, user, teacher)}}})
		if err != nil {
			return nil, err
		}
		c.SetReadLimit(1 << 20)
		_, data, err := c.Read(ctx) // the welcome
		var w struct {
			Op      string `json:"op"`
			Version int64  `json:"version"`
		}
		if err != nil || json.Unmarshal(data, &w) != nil || w.Op != "welcome" {
			c.CloseNow()
			return nil, fmt.Errorf("no welcome: %v", err)
		}
		s := &oursSock{c: c, version: w.Version, done: make(chan struct{})}
		go s.read(onFrame)
		return s, nil
	}
}

// closedBy counts sockets the server closed during a run, by close code (-1: no
// close frame), for the summary.
var closedBy sync.Map

func countClose(err error) {
	v, _ := closedBy.LoadOrStore(int(websocket.CloseStatus(err)), new(atomic.Int64))
	if v.(*atomic.Int64).Add(1) <= 2 {
		fmt.Fprintf(os.Stderr, "loadtest: a socket closed by the server at %s: %v\n", time.Now().Format("15:04:05.000"), err)
	}
}

func (s *oursSock) read(onFrame func(byte, int64)) {
	defer close(s.done)
	for {
		_, data, err := s.c.Read(context.Background())
		if err != nil {
			if !s.closing.Load() {
				countClose(err)
			}
			return
		}
		var f struct {
			Op      string `json:"op"`
			Text    string `json:"text"`
			Version int64  `json:"version"`
			State   struct {
				Seq int64 `json:"seq"`
			} `json:"state"`
		}
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		switch f.Op {
		case "message":
			var seq int64
			if _, err := fmt.Sscanf(f.Text, "m%d", &seq); err == nil {
				onFrame('m', seq)
			}
		case "state":
			s.mu.Lock()
			s.version = max(s.version, f.Version)
			s.mu.Unlock()
			onFrame('s', f.State.Seq)
		}
	}
}

func (s *oursSock) write(ctx context.Context, v any) error {
	b, _ := json.Marshal(v)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.c.Write(ctx, websocket.MessageText, b)
}

func (s *oursSock) sendText(ctx context.Context, seq int64) error {
	return s.write(ctx, map[string]any{"op": "send", "text": fmt.Sprint("m", seq), "client_id": fmt.Sprint(seq)})
}

// sendState moves the room's video (what the demo's teacher sends), at the version
// last seen: one teacher per room, so no conflict.
func (s *oursSock) sendState(ctx context.Context, seq int64) error {
	s.mu.Lock()
	v := s.version
	s.mu.Unlock()
	return s.write(ctx, map[string]any{"op": "state", "version": v,
		"state": map[string]any{"seq": seq, "playing": true, "position": seq % 600, "at": time.Now().UnixMilli()}})
}

func (s *oursSock) close() { s.closing.Store(true); s.c.CloseNow(); <-s.done }

// centSock is a Centrifugo client over its WebSocket transport, JSON protocol: a
// connect command with the token, a subscribe to room:<room> (a namespace with
// presence, join/leave and history), publications from the client.
type centSock struct {
	c       *websocket.Conn
	wmu     sync.Mutex
	id      int64
	ch      string
	done    chan struct{}
	closing atomic.Bool
}

func centrifugoDialer(base, secret string) roomDial {
	return func(ctx context.Context, hc *http.Client, room, user string, teacher bool, onFrame func(byte, int64)) (roomSock, error) {
		c, _, err := websocket.Dial(ctx, wsURL(base, "/connection/websocket"), &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		c.SetReadLimit(1 << 20)
		s := &centSock{c: c, ch: "room:" + room, done: make(chan struct{})}
		for _, cmd := range []map[string]any{
			{"connect": map[string]any{"token": roomToken(secret, room, user, teacher)}},
			{"subscribe": map[string]any{"channel": s.ch}},
		} {
			if err := s.command(ctx, cmd); err != nil {
				c.CloseNow()
				return nil, err
			}
		}
		go s.read(onFrame)
		return s, nil
	}
}

// command sends cmd and reads until its reply (pushes before it are join events).
func (s *centSock) command(ctx context.Context, cmd map[string]any) error {
	s.id++
	cmd["id"] = s.id
	if err := s.write(ctx, cmd); err != nil {
		return err
	}
	for {
		_, data, err := s.c.Read(ctx)
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			var r struct {
				ID    int64           `json:"id"`
				Error json.RawMessage `json:"error"`
			}
			if json.Unmarshal(line, &r) == nil && r.ID == s.id {
				if r.Error != nil {
					return fmt.Errorf("centrifugo: %s", r.Error)
				}
				return nil
			}
		}
	}
}

func (s *centSock) read(onFrame func(byte, int64)) {
	defer close(s.done)
	for {
		_, data, err := s.c.Read(context.Background())
		if err != nil {
			if !s.closing.Load() {
				countClose(err)
			}
			return
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if string(bytes.TrimSpace(line)) == "{}" { // the server's ping: answer with a pong
				_ = s.write(context.Background(), map[string]any{})
				continue
			}
			var f struct {
				Push struct {
					Pub *struct {
						Data struct {
							T   string `json:"t"`
							Seq int64  `json:"seq"`
						} `json:"data"`
					} `json:"pub"`
				} `json:"push"`
			}
			if json.Unmarshal(line, &f) == nil && f.Push.Pub != nil && len(f.Push.Pub.Data.T) == 1 {
				onFrame(f.Push.Pub.Data.T[0], f.Push.Pub.Data.Seq)
			}
		}
	}
}

func (s *centSock) write(ctx context.Context, v any) error {
	b, _ := json.Marshal(v)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.c.Write(ctx, websocket.MessageText, b)
}

// The replies to publications are not awaited (ours are not either): ids 0 would be
// refused, so each publication gets one, read and dropped by read.
func (s *centSock) publish(ctx context.Context, data map[string]any) error {
	s.wmu.Lock()
	s.id++
	id := s.id
	s.wmu.Unlock()
	return s.write(ctx, map[string]any{"id": id, "publish": map[string]any{"channel": s.ch, "data": data}})
}

func (s *centSock) sendText(ctx context.Context, seq int64) error {
	return s.publish(ctx, map[string]any{"t": "m", "seq": seq, "text": fmt.Sprint("m", seq)})
}

func (s *centSock) sendState(ctx context.Context, seq int64) error {
	return s.publish(ctx, map[string]any{"t": "s", "seq": seq, "playing": true, "position": seq % 600, "at": time.Now().UnixMilli()})
}

func (s *centSock) close() { s.closing.Store(true); s.c.CloseNow(); <-s.done }
