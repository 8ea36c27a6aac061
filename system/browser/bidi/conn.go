package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// ErrClosed is returned by every call once the WebDriver BiDi connection has ended:
// after Close, or when Firefox exited or dropped the connection.
var ErrClosed = errors.New("bidi: connection closed")

// Error is a WebDriver BiDi error response, such as "no such frame" or
// "invalid argument" (the codes are listed in the spec's "Errors" section).
type Error struct {
	Method  string // the command that failed, such as "browsingContext.navigate"
	Code    string // the spec's error code, such as "unknown error"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Method, e.Code, e.Message)
}

const (
	// writeTimeout bounds one command's write. coder/websocket closes the whole
	// connection when the context of a Write ends mid-write, so a caller's context
	// never reaches Write: a cancelled call must not end the session for everyone.
	writeTimeout = 10 * time.Second
	// readLimit bounds one incoming message (the library's default is 32 KiB, less
	// than a large Eval result).
	readLimit = 64 << 20
)

// conn is one WebDriver BiDi session's WebSocket: commands go out with increasing
// ids, and one read goroutine hands each response to its waiting call and each event
// to onEvent, in the order Firefox sent them.
type conn struct {
	ws *websocket.Conn
	// onEvent runs on the read goroutine, so it must not block or call the conn.
	onEvent func(method string, params json.RawMessage)

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan message // buffered 1; removed by whoever gets there first
	err     error                  // why the read loop ended; set once, before done closes
	closing bool                   // close was called: the read error is ours

	done chan struct{} // closed when the read goroutine has returned
}

// command is one message to Firefox.
type command struct {
	ID     int64  `json:"id"`
	Method string `json:"method"`
	Params any    `json:"params"`
}

// message is one message from Firefox: a response ("success" or "error", with the
// command's id) or an event (with a method and params).
type message struct {
	Type    string          `json:"type"`
	ID      *int64          `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// newConn starts the read goroutine; close ends and joins it.
func newConn(ws *websocket.Conn, onEvent func(string, json.RawMessage)) *conn {
	ws.SetReadLimit(readLimit)
	c := &conn{
		ws:      ws,
		onEvent: onEvent,
		pending: make(map[int64]chan message),
		done:    make(chan struct{}),
	}
	go c.readLoop()
	return c
}

func (c *conn) readLoop() {
	defer close(c.done)
	for {
		// Background: a cancelled read context would close the connection, and only
		// close (or Firefox) ends this loop.
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.fail(err)
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			c.fail(fmt.Errorf("decode message: %w", err))
			_ = c.ws.CloseNow()
			return
		}
		switch {
		case m.Type == "event":
			c.onEvent(m.Method, m.Params)
		case m.ID != nil:
			c.mu.Lock()
			ch := c.pending[*m.ID]
			delete(c.pending, *m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			// An error with a null id answers a message Firefox could not parse; every
			// message this package sends parses, so there is nobody to tell.
		}
	}
}

// fail records why the connection ended and releases every waiting call.
func (c *conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		c.err = ErrClosed
	} else {
		c.err = fmt.Errorf("%w: %v", ErrClosed, err)
	}
	clear(c.pending) // their callers select on done
}

// closed returns the reason the connection ended; call it after done has closed.
func (c *conn) closed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// call sends one command and waits for its response, decoding a success's result
// into result (when not nil). It returns an *Error for an error response, and an error
// wrapping ErrClosed when the connection has ended. When ctx ends first, call returns
// ctx's error and the late response is dropped; the connection stays usable.
func (c *conn) call(ctx context.Context, method string, params, result any) error {
	if params == nil {
		params = struct{}{} // the spec requires a params object
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, err)
	}
	c.nextID++
	id := c.nextID
	ch := make(chan message, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	data, err := json.Marshal(command{ID: id, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("%s: encode params: %w", method, err)
	}
	wctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	err = c.ws.Write(wctx, websocket.MessageText, data)
	cancel()
	if err != nil {
		select {
		case <-c.done:
			return fmt.Errorf("%s: %w", method, c.closed())
		default:
			return fmt.Errorf("%s: send: %w", method, err)
		}
	}

	select {
	case m := <-ch:
		if m.Type == "error" {
			return &Error{Method: method, Code: m.Error, Message: m.Message}
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("%s: decode result: %w", method, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	case <-c.done:
		return fmt.Errorf("%s: %w", method, c.closed())
	}
}

// close drops the connection without a closing handshake and waits for the read
// goroutine. Safe to call more than once.
func (c *conn) close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	_ = c.ws.CloseNow()
	<-c.done
}
