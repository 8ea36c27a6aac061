package bidi

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
)

// listeningRE matches the line Firefox prints to stderr once its remote agent
// listens: "WebDriver BiDi listening on ws://127.0.0.1:PORT".
var listeningRE = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

const (
	tailLines    = 30       // lines of output kept for error messages
	maxLineBytes = 64 << 10 // a longer "line" is cut
)

// output receives Firefox's stdout and stderr (exec's copying goroutine calls Write;
// cmd.Wait joins it). It reports the WebSocket address once, keeps the last lines
// for error messages and copies everything to an optional writer.
type output struct {
	forward io.Writer   // may be nil
	url     chan string // buffered 1; receives the address once

	mu      sync.Mutex
	partial []byte
	tail    []string
	found   bool
}

func newOutput(forward io.Writer) *output {
	return &output{forward: forward, url: make(chan string, 1)}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.forward != nil {
		_, _ = o.forward.Write(p) // a failing copy must not stall Firefox
	}
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		o.line(string(o.partial[:i]))
		o.partial = o.partial[i+1:]
	}
	if len(o.partial) > maxLineBytes {
		o.line(string(o.partial))
		o.partial = nil
	}
	return len(p), nil
}

// line handles one complete line; o.mu is held.
func (o *output) line(s string) {
	s = strings.TrimRight(s, "\r")
	if !o.found {
		if m := listeningRE.FindStringSubmatch(s); m != nil {
			o.found = true
			o.url <- m[1]
		}
	}
	o.tail = append(o.tail, s)
	if len(o.tail) > tailLines {
		o.tail = o.tail[len(o.tail)-tailLines:]
	}
}

// Tail returns the last lines of output, for error messages.
func (o *output) Tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := o.tail
	if len(o.partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(o.partial))
	}
	return strings.Join(lines, "\n")
}
