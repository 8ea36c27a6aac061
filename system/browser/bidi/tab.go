package bidi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Tab is one top-level browsing context. Its methods are safe for concurrent use.
type Tab struct {
	b           *Browser
	id          string
	userContext string
	logs        []LogEntry // guarded by b.mu
}

// ID is the tab's browsing context id.
func (t *Tab) ID() string { return t.id }

// UserContext is the user context the tab was opened in ("" for the default one).
func (t *Tab) UserContext() string { return t.userContext }

// Navigate loads url and waits for the load event (wait "complete"). An error page
// (refused connection, unknown host) is an error.
func (t *Tab) Navigate(ctx context.Context, url string) error {
	return t.b.conn.call(ctx, "browsingContext.navigate", map[string]any{
		"context": t.id,
		"url":     url,
		"wait":    "complete",
	}, nil)
}

// Reload reloads the page and waits for the load event.
func (t *Tab) Reload(ctx context.Context) error {
	return t.b.conn.call(ctx, "browsingContext.reload", map[string]any{
		"context": t.id,
		"wait":    "complete",
	}, nil)
}

// Eval evaluates the JavaScript expression js in the page, waits for it if it is a
// promise, and decodes its JSON.stringify form into out (when out is not nil).
// js is an expression, not statements, and may use await:
// `(await fetch("/x")).status`. A value JSON.stringify drops (undefined, a
// function) decodes as JSON null. A thrown exception or rejected promise is an
// *EvalError.
func (t *Tab) Eval(ctx context.Context, js string, out any) error {
	// The newlines keep a trailing // comment in js from swallowing the wrapper.
	expr := "(async () => JSON.stringify(await (\n" + js + "\n)))()"
	var res evaluateResult
	err := t.b.conn.call(ctx, "script.evaluate", map[string]any{
		"expression":      expr,
		"target":          map[string]string{"context": t.id},
		"awaitPromise":    true,
		"resultOwnership": "none", // no handle kept in the page: nothing to release
	}, &res)
	if err != nil {
		return err
	}
	return res.decode(out)
}

// Call calls the JavaScript function fn (source text, such as
// `async (a, b) => a + b`) in the page with args, waits for its result if it is a
// promise, and decodes that like Eval. The args travel as JSON, so they are data,
// never code.
func (t *Tab) Call(ctx context.Context, fn string, out any, args ...any) error {
	if args == nil {
		args = []any{}
	}
	argsJSON, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode args: %w", err)
	}
	decl := "async function (argsJSON) {\nconst fn = (\n" + fn +
		"\n);\nreturn JSON.stringify(await fn(...JSON.parse(argsJSON)));\n}"
	var res evaluateResult
	err = t.b.conn.call(ctx, "script.callFunction", map[string]any{
		"functionDeclaration": decl,
		"arguments":           []any{map[string]string{"type": "string", "value": string(argsJSON)}},
		"target":              map[string]string{"context": t.id},
		"awaitPromise":        true,
		"resultOwnership":     "none",
	}, &res)
	if err != nil {
		return err
	}
	return res.decode(out)
}

// Logs returns every console message and uncaught exception the tab's pages have
// reported so far. Entries arrive as events, a little after the code that logged
// them ran: poll for one you expect.
func (t *Tab) Logs() []LogEntry {
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	return slices.Clone(t.logs)
}

// Errors returns the entries of Logs at level "error": console.error calls and
// uncaught exceptions. A test can fail on any.
func (t *Tab) Errors() []LogEntry {
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	return errorsOf(t.logs)
}

// Close closes the tab (and its window). Its Logs stay readable.
func (t *Tab) Close(ctx context.Context) error {
	err := t.b.conn.call(ctx, "browsingContext.close", map[string]any{"context": t.id}, nil)
	if err == nil {
		t.b.mu.Lock()
		delete(t.b.tabs, t.id)
		t.b.mu.Unlock()
	}
	return err
}

// EvalError is an exception thrown, or a promise rejected, by Eval's or Call's
// script.
type EvalError struct {
	Text string // the exception as Firefox describes it, such as "Error: boom"
}

func (e *EvalError) Error() string { return "script threw: " + e.Text }

// evaluateResult is script.evaluate's and script.callFunction's result.
type evaluateResult struct {
	Type   string `json:"type"` // "success" or "exception"
	Result struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"result"`
	ExceptionDetails struct {
		Text string `json:"text"`
	} `json:"exceptionDetails"`
}

// decode turns the wrapper's JSON.stringify string into out.
func (r *evaluateResult) decode(out any) error {
	switch {
	case r.Type == "exception":
		return &EvalError{Text: r.ExceptionDetails.Text}
	case r.Type != "success":
		return fmt.Errorf("evaluate: unexpected result type %q", r.Type)
	case out == nil:
		return nil
	}
	data := []byte("null")
	switch r.Result.Type {
	case "string":
		var s string
		if err := json.Unmarshal(r.Result.Value, &s); err != nil {
			return fmt.Errorf("evaluate: decode result: %w", err)
		}
		data = []byte(s)
	case "undefined": // JSON.stringify returned undefined
	default:
		return fmt.Errorf("evaluate: result is a %s, not JSON text", r.Result.Type)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("evaluate: decode %s: %w", data, err)
	}
	return nil
}
