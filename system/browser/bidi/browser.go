package bidi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// NewUserContext creates a user context: like a separate browser profile (or a
// private window), it shares no cookies, storage, BroadcastChannel or Web Locks with
// any other. Use it as a second device or a second student. It lives until Close.
func (b *Browser) NewUserContext(ctx context.Context) (string, error) {
	var res struct {
		UserContext string `json:"userContext"`
	}
	if err := b.conn.call(ctx, "browser.createUserContext", nil, &res); err != nil {
		return "", err
	}
	return res.UserContext, nil
}

// NewTab opens about:blank in userContext ("" for the default one). The tab gets
// its own window, so every Tab is in front: its page is visible
// (document.visibilityState) and its timers are not throttled, as if each were the
// tab the user is looking at. Closing the Tab closes the window.
func (b *Browser) NewTab(ctx context.Context, userContext string) (*Tab, error) {
	params := map[string]any{"type": "window"}
	if userContext != "" {
		params["userContext"] = userContext
	}
	var res struct {
		Context string `json:"context"`
	}
	if err := b.conn.call(ctx, "browsingContext.create", params, &res); err != nil {
		return nil, err
	}
	t := &Tab{b: b, id: res.Context, userContext: userContext}
	b.mu.Lock()
	b.tabs[t.id] = t
	b.mu.Unlock()
	return t, nil
}

// Errors returns the error entries (console.error and uncaught exceptions) that came
// from no Tab's page: workers, frames, or a page closed since.
func (b *Browser) Errors() []LogEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return errorsOf(b.orphans)
}

// LogEntry is one console message or uncaught exception a page reported
// (log.entryAdded).
type LogEntry struct {
	Type   string    // "console", or "javascript" for an uncaught exception or rejection
	Level  string    // "debug", "info", "warn" or "error"
	Method string    // the console method ("log", "error", …) for Type "console"
	Text   string    // the message
	URL    string    // the script of the top stack frame, when known
	Line   int       // its line, 1-based; 0 when unknown
	Time   time.Time // when the page logged it
}

func (e LogEntry) String() string {
	s := fmt.Sprintf("%s %s: %s", e.Type, e.Level, e.Text)
	if e.URL != "" {
		s += fmt.Sprintf(" (%s:%d)", e.URL, e.Line)
	}
	return s
}

// logEntryParams is the part of log.entryAdded's params this package reads.
type logEntryParams struct {
	Type      string  `json:"type"`
	Level     string  `json:"level"`
	Method    string  `json:"method"`
	Text      *string `json:"text"` // null when the message has no text
	Timestamp int64   `json:"timestamp"`
	Source    struct {
		Context string `json:"context"`
	} `json:"source"`
	StackTrace *struct {
		CallFrames []struct {
			URL        string `json:"url"`
			LineNumber int    `json:"lineNumber"` // 0-based
		} `json:"callFrames"`
	} `json:"stackTrace"`
}

// event runs on the connection's read goroutine: it files log entries under their
// Tab. It must not block.
func (b *Browser) event(method string, params json.RawMessage) {
	if method != "log.entryAdded" {
		return
	}
	var p logEntryParams
	if err := json.Unmarshal(params, &p); err != nil {
		return // not the shape the spec gives; nothing a test could act on
	}
	e := LogEntry{
		Type:   p.Type,
		Level:  p.Level,
		Method: p.Method,
		Time:   time.UnixMilli(p.Timestamp),
	}
	if p.Text != nil {
		e.Text = *p.Text
	}
	if p.StackTrace != nil && len(p.StackTrace.CallFrames) > 0 {
		f := p.StackTrace.CallFrames[0]
		e.URL, e.Line = f.URL, f.LineNumber+1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.tabs[p.Source.Context]; t != nil {
		t.logs = append(t.logs, e) // t.logs is guarded by b.mu
		return
	}
	b.orphans = append(b.orphans, e)
}

func errorsOf(entries []LogEntry) []LogEntry {
	var out []LogEntry
	for _, e := range entries {
		if e.Level == "error" {
			out = append(out, e)
		}
	}
	return slices.Clip(out)
}
