package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// -mode rooms (issue 27): -conns sockets in rooms of -room-size (one teacher each),
// -rate messages/s across the rooms from random members, and a state change from each
// room's teacher every -state-every; every frame is timed from its send to its arrival
// at each member (the sender included: that is "every member"). Memory per socket is
// the server's RSS growth over the connected sockets; CPU is per 1,000 deliveries
// while sending. Everything runs in this one process, so send and receive times share
// a clock.

type roomsResult struct {
	System         string        `json:"system"`
	Sockets        int           `json:"sockets"`
	Rooms          int           `json:"rooms"`
	RoomSize       int           `json:"room_size"`
	Rate           float64       `json:"messages_per_s"`
	StateEvery     string        `json:"state_every"`
	ConnectFailed  int64         `json:"connect_failed"`
	ConnectSecs    float64       `json:"connect_seconds"`
	Messages       int64         `json:"messages_sent"`
	States         int64         `json:"states_sent"`
	SendFailed     int64         `json:"send_failed"`
	Deliveries     int64         `json:"deliveries"`
	Expected       int64         `json:"deliveries_expected"`
	Latency        dist          `json:"send_to_member"`
	MessageLatency dist          `json:"message_send_to_member"`
	StateLatency   dist          `json:"state_send_to_member"`
	Servers        []serverStat  `json:"servers"`
	ToolCPUSecs    float64       `json:"tool_cpu_seconds_sending"`
	ToolCPUPer1000 float64       `json:"tool_cpu_s_per_1000"`
	MachineBusy    float64       `json:"machine_busy_cores_sending"`
	OtherCores     float64       `json:"other_work_cores_sending"` // neither the tool nor the watched servers
	WorstPerSecond []float64     `json:"worst_ms_per_second"`
	ClosedByServer map[int]int64 `json:"closed_by_server"` // close code → sockets (-1: no close frame)
}

// roomsRecorder keeps each frame's send time and every arrival's latency.
type roomsRecorder struct {
	start time.Time
	sent  []atomic.Int64 // seq → ns since start (0: not sent)

	mu         sync.Mutex
	worst      map[int64]int64 // second of the send phase (by arrival) → worst latency, ns
	msgLat     []int64
	stateLat   []int64
	deliveries atomic.Int64
}

func (r *roomsRecorder) onFrame(kind byte, seq int64) {
	at := time.Since(r.start).Nanoseconds()
	if seq <= 0 || seq >= int64(len(r.sent)) {
		return
	}
	s := r.sent[seq].Load()
	if s == 0 {
		return // sent by an earlier run into the same room
	}
	r.deliveries.Add(1)
	r.mu.Lock()
	if sec := at / 1e9; at-s > r.worst[sec] {
		r.worst[sec] = at - s
	}
	if kind == 's' {
		r.stateLat = append(r.stateLat, at-s)
	} else {
		r.msgLat = append(r.msgLat, at-s)
	}
	r.mu.Unlock()
}

func runRooms(o options, roomSize int, stateEvery time.Duration) (roomsResult, error) {
	var dial roomDial
	base := strings.Split(o.streams, ",")[0]
	switch o.system {
	case systemOurs:
		dial = oursDialer(base, o.secret)
	case systemCentrifugo:
		dial = centrifugoDialer(base, o.secret)
	}
	nRooms := max(1, o.conns/roomSize)
	res := roomsResult{System: o.system, Rooms: nRooms, RoomSize: roomSize, Rate: o.rate, StateEvery: stateEvery.String()}
	watch, err := parsePids(o.pids)
	if err != nil {
		return res, err
	}
	capacity := int(o.rate*o.duration.Seconds()*1.2) + nRooms*int(o.duration/stateEvery+2) + 1000
	rec := &roomsRecorder{start: time.Now(), sent: make([]atomic.Int64, capacity), worst: map[int64]int64{}}
	before := sample(watch)

	// Connect: room by room, at -connect-rate, 64 dials in flight.
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	clients := make([]*http.Client, o.sources)
	for i := range clients {
		clients[i] = sourceClient(i + 1)
	}
	run := fmt.Sprintf("%x", rand.Uint32())
	socks := make([][]roomSock, nRooms)
	for i := range socks {
		socks[i] = make([]roomSock, roomSize)
	}
	lim := rate.NewLimiter(rate.Limit(o.connectRate), 1)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var failed atomic.Int64
	connectStart := time.Now()
	for r := range nRooms {
		for m := range roomSize {
			if err := lim.Wait(ctx); err != nil {
				return res, err
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				room, user := fmt.Sprintf("lt%s-r%d", run, r), fmt.Sprintf("lt%s-r%d-u%d", run, r, m)
				dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
				defer dcancel()
				s, err := dial(dctx, clients[(r*roomSize+m)%len(clients)], room, user, m == 0, rec.onFrame)
				if err != nil {
					if failed.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "loadtest: connect %s: %v\n", user, err)
					}
					return
				}
				socks[r][m] = s
			})
		}
	}
	wg.Wait()
	res.ConnectSecs = time.Since(connectStart).Seconds()
	res.ConnectFailed = failed.Load()
	res.Sockets = nRooms*roomSize - int(res.ConnectFailed)
	defer func() {
		for _, room := range socks {
			for _, s := range room {
				if s != nil {
					s.close()
				}
			}
		}
	}()
	fmt.Fprintf(os.Stderr, "loadtest: %d sockets connected at %s\n", nRooms*roomSize-int(failed.Load()), time.Now().Format("15:04:05.000"))
	time.Sleep(o.idle) // let the join bursts settle before reading memory
	idle := sample(watch)

	// Send: messages from random members at -rate; each teacher's state on a timer
	// (rooms staggered across the period).
	var seq atomic.Int64
	var sendFailed, msgs, states atomic.Int64
	send := func(s roomSock, state bool) {
		n := seq.Add(1)
		if n >= int64(len(rec.sent)) || s == nil {
			return
		}
		rec.sent[n].Store(time.Since(rec.start).Nanoseconds())
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		defer scancel()
		var err error
		if state {
			err, _ = s.sendState(sctx, n), states.Add(1)
		} else {
			err, _ = s.sendText(sctx, n), msgs.Add(1)
		}
		if err != nil {
			sendFailed.Add(1)
			rec.sent[n].Store(0)
		}
	}
	toolBefore, _ := readProc(os.Getpid())
	window := startWindow([]int{os.Getpid()})
	sendStart := time.Now()
	fmt.Fprintf(os.Stderr, "loadtest: sending from %s\n", sendStart.Format("15:04:05.000"))
	sctx, scancel := context.WithDeadline(ctx, sendStart.Add(o.duration))
	var sg sync.WaitGroup
	for r := range nRooms {
		sg.Go(func() {
			t := time.NewTimer(time.Duration(r) * stateEvery / time.Duration(nRooms))
			defer t.Stop()
			for {
				select {
				case <-sctx.Done():
					return
				case <-t.C:
				}
				send(socks[r][0], true)
				t.Reset(stateEvery)
			}
		})
	}
	mlim := rate.NewLimiter(rate.Limit(o.rate), 1)
	for mlim.Wait(sctx) == nil {
		r := rand.IntN(nRooms)
		go send(socks[r][rand.IntN(roomSize)], false)
	}
	sg.Wait()
	scancel()
	time.Sleep(o.settle)
	after := sample(watch)
	toolAfter, _ := readProc(os.Getpid())
	var serverSecs float64
	for i := range watch {
		serverSecs += float64(after[i].cpuTicks-idle[i].cpuTicks) / clockTicks
	}
	busy, _, others := window.end([]int{os.Getpid()}, serverSecs)
	res.OtherCores = others
	first := int64(sendStart.Sub(rec.start) / time.Second)
	for sec := first; sec <= first+int64(o.duration/time.Second); sec++ {
		rec.mu.Lock()
		res.WorstPerSecond = append(res.WorstPerSecond, float64(rec.worst[sec]/1e5)/10)
		rec.mu.Unlock()
	}

	res.Messages, res.States, res.SendFailed = msgs.Load(), states.Load(), sendFailed.Load()
	res.Deliveries = rec.deliveries.Load()
	res.Expected = (res.Messages + res.States - res.SendFailed) * int64(roomSize)
	rec.mu.Lock()
	all := append(append([]int64(nil), rec.msgLat...), rec.stateLat...)
	res.Latency = percentiles(all, 1e6)
	res.MessageLatency = percentiles(rec.msgLat, 1e6)
	res.StateLatency = percentiles(rec.stateLat, 1e6)
	rec.mu.Unlock()
	for i, w := range watch {
		st := serverStat{Name: w.name, StartRSSMiB: float64(before[i].rssKiB) / 1024, IdleRSSMiB: float64(idle[i].rssKiB) / 1024,
			CPUSeconds: float64(after[i].cpuTicks-idle[i].cpuTicks) / clockTicks}
		if res.Sockets > 0 {
			st.RSSPerConnKiB = float64(idle[i].rssKiB-before[i].rssKiB) / float64(res.Sockets)
		}
		res.Servers = append(res.Servers, st)
	}
	res.ToolCPUSecs = float64(toolAfter.cpuTicks-toolBefore.cpuTicks) / clockTicks
	if res.Deliveries > 0 {
		res.ToolCPUPer1000 = res.ToolCPUSecs / float64(res.Deliveries) * 1000
	}
	res.MachineBusy = busy
	res.ClosedByServer = map[int]int64{}
	closedBy.Range(func(k, v any) bool { res.ClosedByServer[k.(int)] = v.(*atomic.Int64).Load(); return true })
	return res, nil
}

func (r roomsResult) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rooms: %s, %d sockets in %d rooms of %d (%d failed to connect, %.1f s to connect)\n",
		r.System, r.Sockets, r.Rooms, r.RoomSize, r.ConnectFailed, r.ConnectSecs)
	fmt.Fprintf(&b, "sent %d messages (%.0f/s) and %d states (every %s per room); %d sends failed\n", r.Messages, r.Rate, r.States, r.StateEvery, r.SendFailed)
	fmt.Fprintf(&b, "deliveries %d of %d expected (%d missing); sockets closed by the server (code: count) %v\n",
		r.Deliveries, r.Expected, r.Expected-r.Deliveries, r.ClosedByServer)
	for _, d := range []struct {
		name string
		d    dist
	}{{"send→member, all", r.Latency}, {"  messages", r.MessageLatency}, {"  states", r.StateLatency}} {
		fmt.Fprintf(&b, "%-18s n=%d p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", d.name, d.d.N, d.d.P50, d.d.P99, d.d.P999, d.d.Max)
	}
	for _, s := range r.Servers {
		per := 0.0
		if r.Deliveries > 0 {
			per = s.CPUSeconds / float64(r.Deliveries) * 1000
		}
		fmt.Fprintf(&b, "server %-10s RSS %.1f → %.1f MiB: %.1f KiB per socket; CPU %.2f s sending: %.3f s per 1,000 deliveries\n",
			s.Name, s.StartRSSMiB, s.IdleRSSMiB, s.RSSPerConnKiB, s.CPUSeconds, per)
	}
	fmt.Fprintf(&b, "load tool CPU %.2f s (%.3f s per 1,000); machine busy %.2f of its cores while sending, %.2f of them other work\n",
		r.ToolCPUSecs, r.ToolCPUPer1000, r.MachineBusy, r.OtherCores)
	fmt.Fprintf(&b, "worst latency in each second of sending (ms): %v\n", r.WorstPerSecond)
	return b.String()
}

func (r roomsResult) write(path string) error {
	if path == "" {
		return nil
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
