// Package bidi drives a headless Firefox ESR over WebDriver BiDi, for the browser
// tests: just what they need, in a few calls.
//
//	b, err := bidi.Launch(ctx, bidi.Options{})   // firefox-esr from PATH, fresh profile
//	defer b.Close()                              // quits, waits, removes the profile
//	device, err := b.NewUserContext(ctx)         // a second "browser": separate storage
//	tab, err := b.NewTab(ctx, device)
//	err = tab.Navigate(ctx, srv.URL)             // waits for the load event
//	var n int
//	err = tab.Eval(ctx, `localStorage.length`, &n)
//	if errs := tab.Errors(); len(errs) > 0 { … }  // console.error, uncaught exceptions
//
// Firefox speaks WebDriver BiDi natively (https://w3c.github.io/webdriver-bidi/):
// started with --remote-debugging-port=0 it prints "WebDriver BiDi listening on
// ws://127.0.0.1:PORT" to stderr, and a client opens a session on ws://…/session
// with session.new. No geckodriver is involved. Launch gives every browser a fresh
// profile whose user.js (DefaultPrefs) turns off first-run pages, updates, telemetry
// and every other call to Mozilla's services: the machines that run the tests have
// no internet.
//
// Commands used: session.new, session.subscribe (log.entryAdded), browser.close,
// browser.createUserContext, browsingContext.create / navigate / reload / close,
// script.evaluate and script.callFunction. Results cross as text: Eval wraps the
// expression in JSON.stringify and decodes the string with encoding/json, instead of
// converting BiDi's typed remote values; JavaScript's own JSON rules apply
// (undefined fields dropped, toJSON honoured, a BigInt or a cycle throws).
//
// The WebSocket library is github.com/coder/websocket: it has no dependencies of its
// own, is maintained (it is the former nhooyr.io/websocket, now kept by Coder), has
// a context-aware API and allows concurrent writes, so one read goroutine and any
// number of callers share a connection without extra locking. One trait shapes this
// package: a context that ends during Read or Write closes the whole connection, so
// the read loop reads with a background context and every write gets its own short
// timeout; a caller's context only bounds its wait for the response.
//
// Goroutines: one reads the connection, one waits for the Firefox process and one
// reads its output; Close joins all three.
package bidi
