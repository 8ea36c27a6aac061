package main

import (
	"net"
	"net/http"
	_ "unsafe" // go:linkname, below
)

// frameworkMux is the Functions Framework's own initServer: the mux StartHostPort
// serves (every registered entry point at its path, wrapped as the framework wraps them
// in production). The framework exports no way to serve it on a listener of ours, and
// StartHostPort binds host:port itself, which would bring back the free-port race
// FUNCTION_LISTEN_FD avoids (main.go imports the package and registers the entry
// points). The linker checks no signature, so a framework upgrade (go.mod pins v1.9.2)
// must recheck initServer's; the tests that post to the function port serve through it.
//
//go:linkname frameworkMux github.com/GoogleCloudPlatform/functions-framework-go/funcframework.initServer
func frameworkMux() (*http.ServeMux, error)

// serveFunction serves the registered entry points on ln, as StartHostPort does on the
// port it binds.
func serveFunction(ln net.Listener) error {
	mux, err := frameworkMux()
	if err != nil {
		return err
	}
	return http.Serve(ln, mux)
}
