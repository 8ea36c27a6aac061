package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

type options struct {
	streams, function, secret, pids, jsonOut, pngOut string
	system, apiKey                                   string
	conns, users, inflight, procs, sources           int
	connectRate, rate                                float64
	duration, idle, settle, timeout                  time.Duration
	publishOnly                                      bool

	// -broadcast (broadcast.go)
	broadcasts                                int
	broadcastInterval                         time.Duration
	broadcastFunction, redisAddr, redisPrefix string
}

// The systems the tool can drive: ours (SSE from bin/stream, CloudEvents to the
// function) and, for a comparison on the same machine, Centrifugo (unidirectional SSE,
// its HTTP server API).
const (
	systemOurs       = "ours"
	systemCentrifugo = "centrifugo"
)

// connsPerProc leaves room under a 20,000 open-file limit for the process's own files.
const connsPerProc = 15000

func (o *options) check() error {
	for _, u := range append(strings.Split(o.streams, ","), strings.Split(o.function, ",")...) {
		if err := loopbackOnly(u); err != nil {
			return err
		}
	}
	switch {
	case o.system != systemOurs && o.system != systemCentrifugo:
		return fmt.Errorf("-system must be %q or %q", systemOurs, systemCentrifugo)
	case o.system == systemCentrifugo && o.apiKey == "":
		return errors.New("-system centrifugo needs -api-key (its HTTP API key)")
	case o.secret == "" && !o.publishOnly:
		return errors.New("need -secret (or JWT_SECRET) to sign the clients' tokens")
	case o.conns < 0 || o.rate <= 0 || o.duration <= 0 || o.connectRate <= 0 || o.inflight < 1:
		return errors.New("-conns must be ≥ 0; -rate, -duration, -connect-rate and -inflight positive")
	case o.sources < 1 || o.sources > 254:
		return errors.New("-sources must be from 1 to 254")
	}
	if err := o.checkBroadcast(); err != nil {
		return err
	}
	if o.publishOnly {
		o.conns = 0
	}
	if o.users == 0 {
		o.users = max(o.conns, 1)
	}
	if o.procs == 0 {
		o.procs = (o.conns + connsPerProc - 1) / connsPerProc
	}
	return nil
}

// loopbackOnly refuses any target that is not on 127.0.0.0/8: this tool generates load.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad URL %q", raw)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback() && ip.To4() != nil) {
		return nil
	}
	return fmt.Errorf("%s: only loopback (127.0.0.0/8) targets are allowed", raw)
}

type worker struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *json.Decoder
}

func run(o options) (summary, error) {
	if err := o.check(); err != nil {
		return summary{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	s := summary{System: o.system, Conns: o.conns, Users: o.users, Rate: o.rate, Inflight: o.inflight,
		Duration: o.duration.String(), Procs: o.procs}
	watch, err := parsePids(o.pids)
	if err != nil {
		return s, err
	}
	before := sample(watch)

	workers, err := startWorkers(ctx, o)
	if err != nil {
		return s, err
	}
	defer func() {
		for _, w := range workers {
			_ = w.cmd.Process.Kill()
			_ = w.cmd.Wait()
		}
	}()
	connectStart := time.Now()
	var connect []int64
	for _, w := range workers {
		var r workerReady
		if err := w.out.Decode(&r); err != nil {
			return s, fmt.Errorf("worker: %w", err)
		}
		connect = append(connect, r.ConnectMicros...)
		s.ConnectFailed += r.Failed
		s.ConnectErrors = append(s.ConnectErrors, r.Errors...)
	}
	s.ConnectSeconds = time.Since(connectStart).Seconds()
	s.Connect = percentiles(connect, 1e3) // µs → ms
	connected := sample(watch)
	idle := connected
	if o.conns > 0 {
		// Idle: the runtime collects at least every 2 minutes and returns freed pages
		// in the background, so a long -idle shows the steady state.
		time.Sleep(o.idle)
		idle = sample(watch)
	}
	s.Idle = o.idle.String()
	s.Servers = serverMemory(before, connected, idle, o.conns-s.ConnectFailed)

	tool := []int{os.Getpid()}
	for _, w := range workers {
		tool = append(tool, w.cmd.Process.Pid)
	}
	window := startWindow(tool)
	sent, err := publishAll(ctx, o, &s)
	if err != nil {
		return s, err
	}
	time.Sleep(o.settle)
	after := sample(watch)
	serverSecs := 0.0
	for i := range after {
		serverSecs += float64(after[i].cpuTicks-idle[i].cpuTicks) / clockTicks
	}
	s.MachineCores, s.ToolCores, s.OtherCores = window.end(tool, serverSecs)

	var broadcasts []sentBroadcast
	if o.broadcasts > 0 {
		s.BroadcastVia, s.BroadcastInterval = viaRedis, o.broadcastInterval.String()
		if o.broadcastFunction != "" {
			s.BroadcastVia = viaFunction
		}
		s.BroadcastConns, s.BroadcastStreams = o.conns-s.ConnectFailed, len(strings.Split(o.streams, ","))
		bwindow, bstart := startWindow(tool), sample(watch)
		var windows []broadcastWindow
		broadcasts, windows, err = broadcastAll(ctx, o, watch)
		if err != nil {
			return s, fmt.Errorf("broadcast: %w", err)
		}
		time.Sleep(o.settle)
		bend, secs := sample(watch), 0.0
		for i := range bend {
			secs += float64(bend[i].cpuTicks-bstart[i].cpuTicks) / clockTicks
		}
		s.BroadcastMachineCores, s.BroadcastToolCores, s.BroadcastOtherCores = bwindow.end(tool, secs)
		s.BroadcastServers = broadcastServers(windows, s.BroadcastConns)
	}

	// Finish: close each worker's stdin and read its results.
	expected := map[string]int{} // user → notifications sent to them
	for _, u := range sent {
		expected[u]++
	}
	var lat, fromSchedule []int64
	received := map[string]map[int]int{}
	blat, bdup := map[int][]int64{}, map[int]int{}
	for _, w := range workers {
		w.in.Close()
		var r workerResult
		if err := w.out.Decode(&r); err != nil {
			return s, fmt.Errorf("worker results: %w", err)
		}
		lat = append(lat, r.LatencyNanos...)
		fromSchedule = append(fromSchedule, r.ScheduleNanos...)
		s.Dropped += r.Dropped
		for k, v := range r.BroadcastNanos {
			blat[k] = append(blat[k], v...)
		}
		for k, n := range r.BroadcastDup {
			bdup[k] += n
		}
		for user, seqs := range r.Received {
			m := received[user]
			if m == nil {
				m = map[int]int{}
				received[user] = m
			}
			for _, q := range seqs {
				m[q]++
			}
		}
	}
	s.countDeliveries(sent, received, connsPerUser(o))
	s.Latency = percentiles(lat, 1e6) // ns → ms
	s.FromSchedule = percentiles(fromSchedule, 1e6)
	s.latencies = lat
	s.cpu(before, idle, after)
	if o.broadcasts > 0 {
		s.Broadcasts = countBroadcasts(broadcasts, blat, bdup, s.BroadcastConns)
	}
	return s, nil
}

// connsPerUser says how many connections each user holds (users are dealt round-robin).
func connsPerUser(o options) map[string]int {
	m := map[string]int{}
	for i := range o.conns {
		m[userName(i%o.users)]++
	}
	return m
}

func userName(i int) string { return fmt.Sprintf("lt-%d", i) }

func startWorkers(ctx context.Context, o options) ([]*worker, error) {
	if o.publishOnly || o.conns == 0 {
		return nil, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	streams := strings.Split(o.streams, ",")
	shares := make([][]connSpec, o.procs)
	tokens := map[string]string{}
	for i := range o.conns {
		user := userName(i % o.users)
		tok, ok := tokens[user]
		if !ok {
			claims := jwt.MapClaims{"sub": user, "exp": time.Now().Add(o.timeout + time.Hour).Unix()}
			if o.system == systemCentrifugo {
				// A server-side subscription to the user's channel, set by the token.
				claims["channels"] = []string{centrifugoChannel(user)}
			}
			tok, err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(o.secret))
			if err != nil {
				return nil, err
			}
			tokens[user] = tok
		}
		shares[i%o.procs] = append(shares[i%o.procs], connSpec{User: user, Token: tok})
	}
	var workers []*worker
	for p := range o.procs {
		cmd := exec.CommandContext(ctx, self, "-worker")
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		w := &worker{cmd: cmd, in: in, out: json.NewDecoder(bufio.NewReaderSize(out, 1<<20))}
		workers = append(workers, w)
		a := assignment{System: o.system, Streams: streams, Conns: shares[p], ConnectRate: o.connectRate / float64(o.procs),
			Sources: o.sources, Timeout: o.timeout}
		if err := json.NewEncoder(in).Encode(a); err != nil {
			return nil, err
		}
	}
	return workers, nil
}

// publishAll posts notifications to the publish endpoints at o.rate for o.duration
// (or, with -publish-only, as fast as they answer) and returns the user of each
// sequence number. Each request id carries its sequence number, the time the publish
// was due by the schedule and the time it was sent. Each endpoint gets o.inflight
// requests at a time; a publish waits for a free slot, and that wait shows in the
// latency from the schedule.
func publishAll(ctx context.Context, o options, s *summary) ([]string, error) {
	endpoints := strings.Split(o.function, ",")
	publishers := len(endpoints) * o.inflight
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.inflight}}
	type job struct {
		seq  int
		user string
		due  time.Time
	}
	jobs := make(chan job, publishers)
	var failedMu sync.Mutex
	var failed []int // their outcome is unknown: not expected, not counted
	var answer []int64
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int64
			for j := range jobs {
				sent := time.Now()
				err := publish(ctx, client, o, endpoints[p%len(endpoints)], j.user, j.seq, j.due)
				mine = append(mine, time.Since(sent).Nanoseconds())
				if err != nil {
					failedMu.Lock()
					if len(failed) == 0 {
						s.PublishError = err.Error()
					}
					failed = append(failed, j.seq)
					failedMu.Unlock()
				}
			}
			failedMu.Lock()
			answer = append(answer, mine...)
			failedMu.Unlock()
		}()
	}
	var users []string // user of each sequence number
	start := time.Now()
	interval := time.Duration(float64(time.Second) / o.rate)
	total := int(o.rate * o.duration.Seconds())
	for seq := 0; ; seq++ {
		due := time.Now()
		if o.publishOnly {
			if time.Since(start) >= o.duration {
				break
			}
		} else if seq == total {
			break
		} else {
			due = start.Add(time.Duration(seq) * interval)
			time.Sleep(time.Until(due))
		}
		users = append(users, userName(seq%o.users))
		select {
		case jobs <- job{seq: seq, user: users[seq], due: due}:
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return nil, ctx.Err()
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	for _, seq := range failed {
		users[seq] = ""
	}
	s.Published = len(users)
	s.PublishFailed = len(failed)
	s.PublishedPerSecond = float64(len(users)) / elapsed
	s.PublishAnswer = percentiles(answer, 1e6)
	return users, nil
}

// requestID is what the receiving worker reads back: lt-<seq>-<sent>-<due>, times in
// unix nanoseconds.
func requestID(seq int, sent, due time.Time) string {
	return fmt.Sprintf("lt-%d-%d-%d", seq, sent.UnixNano(), due.UnixNano())
}

func publish(ctx context.Context, c *http.Client, o options, url, user string, seq int, due time.Time) error {
	sent := time.Now()
	rid := requestID(seq, sent, due)
	var req *http.Request
	if o.system == systemCentrifugo {
		req = centrifugoPublish(ctx, url, o.apiKey, user, rid, sent)
	} else {
		job, _ := json.Marshal(map[string]string{"request_id": rid, "user_id": user, "status": "completed",
			"video_url": "https://cdn.example/v/" + rid + ".mp4", "title": "Load test"})
		body := eventarc.PushBody(job, rid, sent)
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("ce-id", rid)
		req.Header.Set("ce-specversion", "1.0")
		req.Header.Set("ce-type", eventarc.EventType)
		req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/local/topics/content-job-finished")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish answered %s", resp.Status)
	}
	if o.system == systemCentrifugo {
		return centrifugoReplyError(reply)
	}
	return nil
}
