// Command vapidkeys prints a fresh VAPID key pair as the environment variables the
// services read, for the runbook's key creation and rotation:
//
//	go run ./stream/internal/webpush/vapidkeys
//
// It prints the private key: pipe it straight into Secret Manager, not into a file.
package main

import (
	"fmt"
	"os"

	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

func main() {
	public, private, err := webpush.GenerateKeys()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("VAPID_PUBLIC_KEY=%s\nVAPID_PRIVATE_KEY=%s\n", public, private)
}
