package main

import (
	"fmt"
	"io"
	"net/url"
)

// printReceiptsBanner offers the teacher's receipts page (demo/receipts.html) for the
// first of LOCAL_DEMO_GROUPS (else the room's class), and says what it needs: Redis
// (the in-memory broker keeps no receipts) and students whose tokens name the class.
func printReceiptsBanner(out io.Writer, port string, redis bool, groups []string) {
	class := demoRoom
	if len(groups) > 0 {
		class = groups[0]
	}
	link := fmt.Sprintf("http://127.0.0.1:%s/demo/receipts.html?%s", port,
		url.Values{"user": {"teacher-1"}, "class": {class}}.Encode())
	fmt.Fprintf(out, "Who has read it (a teacher's read receipts for class %q):\n  %s\n", class, link)
	switch {
	case !redis:
		fmt.Fprintln(out, "  (off here: receipts need Redis; start with REDIS_ADDR=host:port)")
	case len(groups) == 0:
		fmt.Fprintf(out, "  (the demo centre's students join the class with LOCAL_DEMO_GROUPS=%s)\n", class)
	}
	fmt.Fprintln(out)
}
