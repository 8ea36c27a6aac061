// Command latency measures publish→SSE delivery through the real pipeline: it opens
// SSE streams for some users, POSTs job events to the function endpoint as Eventarc
// would, and reports latency percentiles, lost and duplicated notifications. Loopback
// use only; bounded in count and time.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.streamURL, "stream", "http://127.0.0.1:8080", "stream service base URL")
	flag.StringVar(&o.functionURL, "function", "http://127.0.0.1:8081/", "function endpoint URL")
	flag.StringVar(&o.secret, "secret", os.Getenv("JWT_SECRET"), "HS256 secret for client tokens")
	flag.IntVar(&o.users, "users", 20, "users, one stream each")
	flag.IntVar(&o.count, "n", 1000, "notifications to publish (spread over the users)")
	flag.Float64Var(&o.rate, "rate", 200, "notifications per second")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "give up after this long")
	flag.Parse()
	r, err := measure(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
	fmt.Println(r)
	if r.lost > 0 || r.dups > 0 {
		os.Exit(1)
	}
}
