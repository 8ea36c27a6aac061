// Package web serves the browser client (notifications.js) and the demo notification
// centre, both embedded in the binary so a deploy needs no separate static hosting.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed notifications.js sw.js demo
var files embed.FS

// demoCSP lets the demo page load its own script and style and call its own origin,
// nothing else (the API's responses keep the stricter default-src 'none').
const demoCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Client serves notifications.js. Apps import it as an ES module, cross-origin when
// their origin is in ALLOWED_ORIGINS (module scripts are fetched with CORS).
func Client() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "notifications.js")
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
