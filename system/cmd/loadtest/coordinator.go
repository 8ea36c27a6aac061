package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

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
