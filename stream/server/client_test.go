package server

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// frame is one parsed SSE event or comment.
type frame struct{ id, event, data, comment, retry string }

// client is an SSE stream being read.
type client struct {
	t      *testing.T
	resp   *http.Response
	frames chan frame
}

func (e *env) open(user, lastID string, query string) *client {
	e.t.Helper()
	c, status := e.tryOpen(token(e.t, user, time.Hour), lastID, query)
	if status != http.StatusOK {
		e.t.Fatalf("open stream: status %d", status)
	}
	return c
}

func (e *env) tryOpen(tok, lastID, query string) (*client, int) {
	e.t.Helper()
	req := e.streamRequest(query)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return e.openRequest(req)
}

func (e *env) streamRequest(query string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/notifications/stream"+query, nil)
	return req
}

// openRequest sends a stream request; on 200 it returns the stream, read past its
// opening frames; otherwise the status (and checks the refusal is a JSON error).
func (e *env) openRequest(req *http.Request) (*client, int) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), `{"error":`) {
			e.t.Errorf("refusal body %q is not a JSON error", body)
		}
		return nil, resp.StatusCode
	}
	c := &client{t: e.t, resp: resp, frames: make(chan frame, 1024)}
	go c.read()
	e.t.Cleanup(c.close)
	if f := c.next(); f.retry == "" {
		e.t.Fatalf("stream did not start with retry:, got %+v", f)
	}
	if f := c.next(); f.comment != "ok" {
		e.t.Fatalf("stream did not confirm with a comment, got %+v", f)
	}
	return c, resp.StatusCode
}

func (c *client) read() {
	defer close(c.frames)
	sc := bufio.NewScanner(c.resp.Body)
	var f frame
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			c.frames <- f
			f = frame{}
			continue
		}
		name, value, _ := strings.Cut(line, ": ")
		switch name {
		case "id":
			f.id = value
		case "event":
			f.event = value
		case "data":
			f.data = value
		case "retry":
			f.retry = value
		case "":
			f.comment = value
		}
	}
}

func (c *client) close() { c.resp.Body.Close() }

// next returns the next frame within 5 s.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			c.t.Fatal("stream ended")
		}
		return f
	case <-time.After(5 * time.Second):
		c.t.Fatal("no frame within 5s")
	}
	return frame{}
}

// events reads n notification frames, skipping comments.
func (c *client) events(n int) []frame {
	c.t.Helper()
	var out []frame
	for len(out) < n {
		if f := c.next(); f.event != "" {
			out = append(out, f)
		}
	}
	return out
}

// quiet asserts no event arrives within d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.frames:
			if ok && f.event != "" {
				c.t.Fatalf("unexpected event %+v", f)
			}
			if !ok {
				return
			}
		case <-deadline:
			return
		}
	}
}

// ended waits for the server to close the stream and returns the frames sent meanwhile.
func (c *client) ended(d time.Duration) []frame {
	c.t.Helper()
	var got []frame
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return got
			}
			got = append(got, f)
		case <-deadline:
			c.t.Fatalf("stream still open after %s", d)
		}
	}
}
