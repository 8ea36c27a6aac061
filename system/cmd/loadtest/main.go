// Command loadtest measures the whole pipeline under load, on loopback only: it opens
// N SSE connections for U users at a bounded rate (spread over 127.0.0.x source
// addresses and several worker processes), publishes R notifications/s through the
// function's CloudEvent endpoint (or, with -system centrifugo, through Centrifugo's
// server API to its unidirectional SSE clients), and reports connect times,
// publish→receive latency (from the send, and from when the schedule said to send),
// delivered/lost/duplicated, and the servers' RSS per connection and CPU per 1,000
// notifications read from /proc. With -broadcast N it then publishes N broadcasts
// (audience all) and reports each one's fan-out time (broadcast.go).
// With -mode rooms it drives WebSocket rooms instead (rooms.go), ours or Centrifugo's.
// docs/PERFORMANCE.md shows how to run it.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.streams, "stream", "http://127.0.0.1:8080", "stream service base URLs, comma-separated (connections are spread over them)")
	flag.StringVar(&o.function, "function", "http://127.0.0.1:8081/", "publish endpoints, comma-separated: the function's URLs (CloudEvents), or with -system centrifugo its HTTP API base URL")
	flag.StringVar(&o.system, "system", systemOurs, "the system under test: ours, or centrifugo (unidirectional SSE at -stream, server API at -function)")
	flag.StringVar(&o.apiKey, "api-key", os.Getenv("CENTRIFUGO_HTTP_API_KEY"), "Centrifugo's HTTP API key (-system centrifugo)")
	flag.StringVar(&o.secret, "secret", os.Getenv("JWT_SECRET"), "HS256 secret for the clients' tokens")
	flag.IntVar(&o.conns, "conns", 1000, "SSE connections to open")
	flag.IntVar(&o.users, "users", 0, "distinct users (default: one per connection)")
	flag.Float64Var(&o.connectRate, "connect-rate", 1000, "new connections per second")
	flag.Float64Var(&o.rate, "rate", 1000, "notifications published per second")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to publish")
	flag.IntVar(&o.inflight, "inflight", 8, "requests in flight per publish endpoint (Pub/Sub pushes several at once to an instance that takes concurrent requests)")
	flag.DurationVar(&o.idle, "idle", time.Second, "wait with every connection open before reading idle memory and publishing")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "wait after the last publish before counting")
	flag.IntVar(&o.procs, "procs", 0, "worker processes holding the connections (default: enough for the file limit)")
	flag.IntVar(&o.sources, "sources", 16, "source addresses 127.0.0.1..N to spread connections over")
	flag.StringVar(&o.pids, "pids", "", "server processes to watch: name=pid,... (names starting with stream or centrifugo hold the connections: RSS per connection)")
	flag.StringVar(&o.jsonOut, "json", "", "write the summary as JSON to this file")
	flag.StringVar(&o.pngOut, "png", "", "write a latency histogram and CDF to this PNG file")
	flag.BoolVar(&o.publishOnly, "publish-only", false, "no connections: publish as fast as the endpoints answer, to measure the function alone")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	flag.IntVar(&o.broadcasts, "broadcast", 0, "after the per-user phase, publish this many broadcasts (audience all) and report each one's fan-out: time until the first, p50, p99 and the last connection has it")
	flag.DurationVar(&o.broadcastInterval, "broadcast-interval", 2*time.Second, "time between broadcasts: each fan-out must end within the first half, the second half is the idle CPU it is compared with")
	flag.StringVar(&o.broadcastFunction, "broadcast-function", "", "publish broadcasts through this URL of the function's Publish entry point (FUNCTION_TARGET=Publish) instead of straight into Redis")
	flag.StringVar(&o.redisAddr, "redis", redisAddrDefault(), "Redis host:port to publish broadcasts into through shared/redisbroker (default REDIS_ADDR)")
	flag.StringVar(&o.redisPrefix, "redis-prefix", redisPrefixDefault(), "the servers' Redis key prefix (default REDIS_KEY_PREFIX or notifications)")
	mode := flag.String("mode", "sse", "sse (notification streams), or rooms: -conns WebSockets in rooms of -room-size, -rate messages/s across rooms, a state per room every -state-every (rooms.go)")
	roomSize := flag.Int("room-size", 50, "-mode rooms: members per room (the first is its teacher)")
	stateEvery := flag.Duration("state-every", 5*time.Second, "-mode rooms: each room's teacher changes the state this often")
	worker := flag.Bool("worker", false, "internal: run as a worker process (driven over stdin/stdout)")
	flag.Parse()

	var err error
	if *mode == "rooms" {
		err = mainRooms(o, *roomSize, *stateEvery)
	} else if *worker {
		err = runWorker(os.Stdin, os.Stdout)
	} else {
		var s summary
		s, err = run(o)
		if err == nil {
			fmt.Print(s.text())
			err = s.write(o)
			if err == nil && !s.ok() {
				missing, dup, failed := s.broadcastTotals()
				err = fmt.Errorf("FAILED: %d lost, %d duplicated, %d connections failed; broadcasts: %d missing, %d duplicated, %d failed",
					s.Lost, s.Duplicated, s.ConnectFailed, missing, dup, failed)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func mainRooms(o options, roomSize int, stateEvery time.Duration) error {
	if err := loopbackOnly(o.streams); err != nil {
		return err
	}
	if o.secret == "" || roomSize < 2 || stateEvery <= 0 || o.conns < roomSize || o.sources < 1 || o.sources > 254 {
		return fmt.Errorf("-mode rooms needs -secret, -room-size ≥ 2, -conns ≥ -room-size, -state-every > 0, -sources 1-254")
	}
	r, err := runRooms(o, roomSize, stateEvery)
	if err != nil {
		return err
	}
	fmt.Print(r.text())
	return r.write(o.jsonOut)
}
