// Package web serves the browser client (notifications.js and the ES modules it
// imports) and the demo notification centre, all embedded in the binary so a deploy
// needs no separate static hosting.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

//go:embed *.js demo
var files embed.FS

// clientModules are the client's ES modules, served at /client/<name>: notifications.js
// is the entry point apps import; it imports the others by relative path. (sw.js is
// not one: it is served as the demo's service worker.)
var clientModules = []string{
	"notifications.js", "backoff.js", "callbacks.js", "channel.js", "failure.js", "history.js", "http.js",
	"inbox.js", "leader.js", "position-store.js", "push.js", "read-state.js", "reset.js", "rooms.js", "session.js", "sse-parser.js",
	"stream.js", "token.js",
}

// version names this build's client, a hash of every module; entry is notifications.js
// as served, its imports rewritten to ./<version>/. The entry point keeps the stable URL
// apps import (/client/notifications.js, revalidated on each use), and everything it
// loads comes from /client/<version>/, immutable. So one page load never mixes two
// builds' modules: during a rolling deploy, an instance of the other build answers 404
// for a version it does not have, and the import fails instead of running mismatched
// code (a reload fixes it).
var version, entry = buildEntry()

// importSpec finds a relative import or re-export specifier at the start of a line (the
// modules' one-line import style; TestClientImportsAreServed keeps them to it).
var importSpec = regexp.MustCompile(`(?m)^((?:import|export)\b(?:[^"\n]*? from)? ")\./`)

func buildEntry() (string, []byte) {
	h := sha256.New()
	for _, name := range clientModules {
		src, err := files.ReadFile(name)
		if err != nil {
			panic(err) // the embedded tree is fixed at build time
		}
		h.Write([]byte(name + "\x00"))
		h.Write(src)
	}
	v := hex.EncodeToString(h.Sum(nil))[:16]
	src, _ := files.ReadFile(clientModules[0])
	return v, importSpec.ReplaceAll(src, []byte("${1}./"+v+"/"))
}

// ClientPaths are the URL paths Client serves: the entry point, and every module under
// this build's version.
func ClientPaths() []string {
	paths := []string{"/client/" + clientModules[0]}
	for _, name := range clientModules {
		paths = append(paths, "/client/"+version+"/"+name)
	}
	return paths
}

// demoCSP lets the demo page load its own script and style and call its own origin,
// and the room page play its own or a generated (blob:) lesson, nothing else (the API's responses keep the stricter default-src 'none').
const demoCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; media-src 'self' blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Client serves the client at ClientPaths; any other path is not found. Apps import
// notifications.js as an ES module, cross-origin when their origin is in
// ALLOWED_ORIGINS (module scripts are fetched with CORS; the server's CORS layer covers
// /client/), and it imports its siblings from this build's version.
func Client() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		rest, ok := strings.CutPrefix(r.URL.Path, "/client/")
		if ok && rest == clientModules[0] {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			h.Set("ETag", `"`+version+`"`)
			http.ServeContent(w, r, rest, time.Time{}, bytes.NewReader(entry))
			return
		}
		v, name, _ := strings.Cut(rest, "/")
		if !ok || v != version || !slices.Contains(clientModules, name) {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=31536000, immutable") // its URL names its content
		http.ServeFileFS(w, r, files, name)
	})
}

// ServiceWorker serves sw.js, the Web Push service worker. A worker must come from
// the origin of the pages it serves, so the demo's copy is at /demo/sw.js (scope
// /demo/); an app serves its own copy.
func ServiceWorker() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache") // browsers also check a worker for updates daily
		w.Header().Set("Service-Worker-Allowed", "/demo/")
		http.ServeFileFS(w, r, files, "sw.js")
	})
}

// Demo serves the demo page and its assets under /demo/, and the service worker at
// /demo/sw.js.
func Demo() http.Handler {
	sub, err := fs.Sub(files, "demo")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	fsrv := http.StripPrefix("/demo/", http.FileServerFS(sub))
	sw := ServiceWorker()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", demoCSP)
		w.Header().Set("Cache-Control", "no-cache")
		if r.URL.Path == "/demo/sw.js" {
			sw.ServeHTTP(w, r)
			return
		}
		fsrv.ServeHTTP(w, r)
	})
}
