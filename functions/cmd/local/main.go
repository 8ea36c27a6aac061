// Command notify serves the function locally through the Functions Framework, exactly as
// Cloud Functions does: POST CloudEvents (or Pub/Sub push bodies) to /.
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
	if err := notify.Setup(); err != nil {
		return err
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	// With FUNCTION_TARGET set, the framework serves that one function at "/".
	if err := os.Setenv("FUNCTION_TARGET", notify.EntryPoint); err != nil {
		return err
	}
	return funcframework.Start(port)
}
