package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A worker holds a share of the connections. The coordinator sends it one JSON
// assignment on stdin; the worker answers {"ready":…} once its connections are open,
// then, when stdin closes, its results.
type assignment struct {
	System      string        `json:"system"`
	Streams     []string      `json:"streams"`
	Conns       []connSpec    `json:"conns"`
	ConnectRate float64       `json:"connect_rate"` // this worker's share
	Sources     int           `json:"sources"`
	Timeout     time.Duration `json:"timeout"`
}

type connSpec struct {
	User  string `json:"user"`
	Token string `json:"token"`
}

type workerReady struct {
	ConnectMicros []int64  `json:"connect_us"`
	Failed        int      `json:"failed"`
	Errors        []string `json:"errors,omitempty"`
}

type workerResult struct {
	LatencyNanos  []int64          `json:"latency_ns"`               // from the publish being sent
	ScheduleNanos []int64          `json:"latency_from_schedule_ns"` // from the publish being due
	Received      map[string][]int `json:"received"`                 // user → seqs received, per connection concatenated
	Dropped       int              `json:"dropped"`                  // connections that ended before the end
	// BroadcastNanos holds, per broadcast, the latency (send → receipt) of each
	// connection's first receipt; BroadcastDup counts the receipts beyond a
	// connection's first.
	BroadcastNanos map[int][]int64 `json:"broadcast_ns,omitempty"`
	BroadcastDup   map[int]int     `json:"broadcast_dup,omitempty"`
}

func runWorker(in io.Reader, out io.Writer) error {
	raiseFileLimit()
	dec := json.NewDecoder(in)
	var a assignment
	if err := dec.Decode(&a); err != nil {
		return fmt.Errorf("worker: assignment: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.Timeout)
	defer cancel()

	var mu sync.Mutex
	res := workerResult{Received: map[string][]int{}, BroadcastNanos: map[int][]int64{}, BroadcastDup: map[int]int{}}
	ready := workerReady{}
	var wg sync.WaitGroup
	var conns []net.Conn
	var closing atomic.Bool // set once the coordinator has said finish
	interval := time.Duration(float64(time.Second) / a.ConnectRate)
	next := time.Now()
	for i, c := range a.Conns {
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		base := a.Streams[i%len(a.Streams)]
		src := net.IPv4(127, 0, 0, byte(1+i%a.Sources))
		start := time.Now()
		conn, body, err := openStream(ctx, a.System, base, c.Token, src)
		if err != nil {
			ready.Failed++
			if len(ready.Errors) < 5 {
				ready.Errors = append(ready.Errors, err.Error())
			}
			continue
		}
		ready.ConnectMicros = append(ready.ConnectMicros, time.Since(start).Microseconds())
		wg.Add(1)
		go func(user string) {
			defer wg.Done()
			defer conn.Close()
			var seqs, bseqs []int
			var lats, late, blats []int64
			err := readFrames(body, func(seq int, sent, due int64) {
				now := time.Now().UnixNano()
				seqs = append(seqs, seq)
				lats = append(lats, now-sent)
				late = append(late, now-due)
			}, func(k int, sent int64) {
				bseqs = append(bseqs, k)
				blats = append(blats, time.Now().UnixNano()-sent)
			})
			mu.Lock()
			res.addBroadcasts(bseqs, blats)
			res.Received[user] = append(res.Received[user], seqs...)
			res.LatencyNanos = append(res.LatencyNanos, lats...)
			res.ScheduleNanos = append(res.ScheduleNanos, late...)
			if err != nil && ctx.Err() == nil && !closing.Load() {
				res.Dropped++
			}
			mu.Unlock()
		}(c.User)
		conns = append(conns, conn)
	}
	if err := json.NewEncoder(out).Encode(ready); err != nil {
		return err
	}
	// Wait for the coordinator to say "finish" by closing stdin.
	_, _ = io.Copy(io.Discard, in)
	closing.Store(true)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	return json.NewEncoder(out).Encode(res)
}

// addBroadcasts adds one connection's broadcast receipts (number, latency; in the
// order received): the first receipt of each broadcast is its latency, any later one a
// duplicate.
func (r *workerResult) addBroadcasts(ks []int, lats []int64) {
	for i, k := range ks {
		if slices.Contains(ks[:i], k) {
			r.BroadcastDup[k]++
		} else {
			r.BroadcastNanos[k] = append(r.BroadcastNanos[k], lats[i])
		}
	}
}

// openStream connects from src and sends the request by hand: one goroutine and one
// small buffer per connection keep the load generator light next to the server.
func openStream(ctx context.Context, system, base, token string, src net.IP) (net.Conn, io.Reader, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, nil, err
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, nil, err
	}
	req := "GET /api/v1/notifications/stream HTTP/1.1\r\nHost: " + u.Host +
		"\r\nAuthorization: Bearer " + token + "\r\nAccept: text/event-stream\r\n\r\n"
	if system == systemCentrifugo {
		req = "GET " + centrifugoStreamPath(token) + " HTTP/1.1\r\nHost: " + u.Host +
			"\r\nAccept: text/event-stream\r\n\r\n"
	}
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, nil, fmt.Errorf("stream: %s", resp.Status)
	}
	return conn, resp.Body, nil
}

var requestIDKey = []byte(`"request_id":"lt-`)

// readFrames calls onNote with the sequence number, send time and due time carried in
// each notification's request id (lt-<seq>-<sent>-<due>, unix nanoseconds; an id
// without the due time counts it as the send time), and onBroadcast with the number
// and send time carried in each broadcast's title (lt-b-<k>-<sent>), until the stream
// ends. It reads data lines of either system: ours carry the notification,
// Centrifugo's a publication whose data is the same object.
func readFrames(body io.Reader, onNote func(seq int, sent, due int64), onBroadcast func(k int, sent int64)) error {
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("data:")) {
			continue
		}
		i := bytes.Index(line, requestIDKey)
		if i < 0 {
			if k, sent, ok := broadcastOf(line); ok && onBroadcast != nil {
				onBroadcast(k, sent)
			}
			continue
		}
		rest := line[i+len(requestIDKey):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			continue
		}
		parts := bytes.Split(rest[:end], []byte("-"))
		if len(parts) < 2 || len(parts) > 3 {
			continue
		}
		seq, err1 := strconv.Atoi(string(parts[0]))
		sent, err2 := strconv.ParseInt(string(parts[1]), 10, 64)
		due, err3 := sent, error(nil)
		if len(parts) == 3 {
			due, err3 = strconv.ParseInt(string(parts[2]), 10, 64)
		}
		if err1 == nil && err2 == nil && err3 == nil {
			onNote(seq, sent, due)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

// broadcastOf reads the number and send time from a broadcast's title in a data line.
func broadcastOf(line []byte) (k int, sent int64, ok bool) {
	i := bytes.Index(line, broadcastKey)
	if i < 0 {
		return 0, 0, false
	}
	rest := line[i+len(broadcastKey):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return 0, 0, false
	}
	ks, ts, found := bytes.Cut(rest[:end], []byte("-"))
	if !found {
		return 0, 0, false
	}
	k, err1 := strconv.Atoi(string(ks))
	sent, err2 := strconv.ParseInt(string(ts), 10, 64)
	return k, sent, err1 == nil && err2 == nil && k >= 0
}

// raiseFileLimit lifts the soft open-file limit to the hard one: each connection is
// a file.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
