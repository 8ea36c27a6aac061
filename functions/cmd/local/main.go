// Command notify serves the function locally through the Functions Framework, exactly as
// Cloud Functions does: POST CloudEvents (or Pub/Sub push bodies) to /. It serves the
// entry point FUNCTION_TARGET names — Notify (job events, the default) or Publish
// (notifications from other services) — and refuses to start for any other name.
package main

import (
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	notify "github.com/vividly-edu/notifications/functions"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "notify:", err)
		os.Exit(1)
	}
}

func run() error {
	target := os.Getenv("FUNCTION_TARGET")
	if target == "" {
		target = notify.EntryPoint
	}
	// Checked here, before the framework (which would serve an unnamed function at "/"
	// for an unknown name when it has one) and before the configuration is read.
	if err := notify.CheckEntryPoint(target); err != nil {
		return err
	}
	if err := notify.Setup(); err != nil {
		return err
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	// With FUNCTION_TARGET set, the framework serves that one function at "/".
	if err := os.Setenv("FUNCTION_TARGET", target); err != nil {
		return err
	}
	// HOST empty listens on every interface, as the Functions Framework does in a
	// container; the tests and a developer's machine can keep it to loopback.
	host := os.Getenv("HOST")
	fmt.Fprintf(os.Stderr, "notify: serving entry point %s on %s:%s\n", target, host, port)
	return funcframework.StartHostPort(host, port)
}
