package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// What the broadcast phase measured (broadcast.go), counted and written for the
// summary.

// broadcastStat is one broadcast's fan-out, in ms from the publish call.
type broadcastStat struct {
	Seq        int     `json:"seq"`
	PublishMs  float64 `json:"publish_answer_ms"`
	Error      string  `json:"error,omitempty"`
	Received   int     `json:"received"` // connections that got it
	Missing    int     `json:"missing"`
	Duplicated int     `json:"duplicated"` // receipts beyond the first, over all connections
	First      float64 `json:"first_ms"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Last       float64 `json:"last_ms"` // the fan-out time: the last connection has it
}

// broadcastCPU is a server's CPU in the broadcast phase, averaged over the
// broadcasts: in the half interval that starts with a broadcast (and holds its
// fan-out), and in the idle half after it, scaled to the same length.
type broadcastCPU struct {
	Name             string  `json:"name"`
	HalfSeconds      float64 `json:"half_interval_s"`
	FanoutCPU        float64 `json:"cpu_s_half_with_broadcast"`
	IdleCPU          float64 `json:"cpu_s_half_idle"`
	FanoutWait       float64 `json:"runqueue_wait_s_half_with_broadcast"`
	RSSAfterMiB      float64 `json:"rss_after_broadcasts_mib"`
	PerBroadcastCPU  float64 `json:"cpu_s_per_broadcast"` // FanoutCPU − IdleCPU
	PerBroadcastConn float64 `json:"cpu_us_per_broadcast_per_conn,omitempty"`
}

// countBroadcasts turns what the connections received (broadcast k → latency of each
// connection's first receipt, and receipts beyond the first) into one stat per sent
// broadcast; open is how many connections were open. A broadcast whose publish failed
// is reported with its error and not counted: its outcome is unknown.
func countBroadcasts(sent []sentBroadcast, lat map[int][]int64, dup map[int]int, open int) []broadcastStat {
	out := make([]broadcastStat, 0, len(sent))
	for _, b := range sent {
		st := broadcastStat{Seq: b.k, PublishMs: float64(b.answer.Nanoseconds()) / 1e6}
		if b.err != nil {
			st.Error = b.err.Error()
			out = append(out, st)
			continue
		}
		v := lat[b.k]
		slices.Sort(v)
		st.Received, st.Duplicated = len(v), dup[b.k]
		st.Missing = max(0, open-len(v))
		if len(v) > 0 {
			d := percentiles(v, 1e6)
			st.First, st.P50, st.P90, st.P99, st.Last = float64(v[0])/1e6, d.P50, d.P90, d.P99, d.Max
		}
		out = append(out, st)
	}
	return out
}

// broadcastServers averages each server's CPU over the broadcast windows, and reads
// its RSS at the end; conns is the connections open, spread evenly over the stream
// processes.
func broadcastServers(windows []broadcastWindow, conns int) []broadcastCPU {
	if len(windows) == 0 {
		return nil
	}
	streams := 0
	for _, s := range windows[0].start {
		if holdsConnections(s.name) {
			streams++
		}
	}
	ticks := func(from, to []procSample, i int) float64 {
		return float64(to[i].cpuTicks-from[i].cpuTicks) / clockTicks
	}
	last := windows[len(windows)-1]
	n := float64(len(windows))
	var out []broadcastCPU
	for i, s := range windows[0].start {
		c := broadcastCPU{Name: s.name, RSSAfterMiB: float64(last.end[i].rssKiB) / 1024}
		for _, w := range windows {
			c.HalfSeconds += w.first / n
			c.FanoutCPU += ticks(w.start, w.mid, i) / n
			c.FanoutWait += float64(w.mid[i].waitNanos-w.start[i].waitNanos) / 1e9 / n
			if w.second > 0 {
				c.IdleCPU += ticks(w.mid, w.end, i) * w.first / w.second / n
			}
		}
		c.PerBroadcastCPU = c.FanoutCPU - c.IdleCPU
		if holdsConnections(s.name) && conns > 0 && streams > 0 {
			c.PerBroadcastConn = c.PerBroadcastCPU * 1e6 / (float64(conns) / float64(streams))
		}
		out = append(out, c)
	}
	return out
}

// broadcastOK says every sent broadcast reached every open connection exactly once.
func (s summary) broadcastOK() bool {
	for _, b := range s.Broadcasts {
		if b.Error != "" || b.Missing > 0 || b.Duplicated > 0 {
			return false
		}
	}
	return true
}

// broadcastTotals sums missing and duplicated receipts and failed publishes.
func (s summary) broadcastTotals() (missing, duplicated, failed int) {
	for _, b := range s.Broadcasts {
		missing += b.Missing
		duplicated += b.Duplicated
		if b.Error != "" {
			failed++
		}
	}
	return missing, duplicated, failed
}

func (s summary) broadcastText(b *strings.Builder) {
	if len(s.Broadcasts) == 0 {
		return
	}
	missing, duplicated, failed := s.broadcastTotals()
	fmt.Fprintf(b, "broadcasts: %d via %s to %d open connections over %d stream process(es), one every %s: %d missing, %d duplicated, %d publishes failed\n",
		len(s.Broadcasts), s.BroadcastVia, s.BroadcastConns, s.BroadcastStreams, s.BroadcastInterval, missing, duplicated, failed)
	var lasts, p99s []float64
	for _, v := range s.Broadcasts {
		if v.Error != "" {
			fmt.Fprintf(b, "  #%d: publish failed after %.3f ms: %s\n", v.Seq, v.PublishMs, v.Error)
			continue
		}
		fmt.Fprintf(b, "  #%d: publish answered in %.3f ms; reached first %.3f ms  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  last %.3f ms (%d got it, %d missing, %d duplicated)\n",
			v.Seq, v.PublishMs, v.First, v.P50, v.P90, v.P99, v.Last, v.Received, v.Missing, v.Duplicated)
		lasts = append(lasts, v.Last)
		p99s = append(p99s, v.P99)
	}
	if len(lasts) > 0 {
		slices.Sort(lasts)
		slices.Sort(p99s)
		fmt.Fprintf(b, "broadcast fan-out time (last connection), over %d broadcasts: min %.3f ms  median %.3f ms  max %.3f ms (p99 of connections: median %.3f ms)\n",
			len(lasts), lasts[0], median(lasts), lasts[len(lasts)-1], median(p99s))
	}
	if s.Latency.N > 0 {
		fmt.Fprintf(b, "per-user notification in the same run (one to one user, through the function): publish→receive p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
			s.Latency.P50, s.Latency.P99, s.Latency.P999, s.Latency.Max)
	}
	for _, c := range s.BroadcastServers {
		fmt.Fprintf(b, "  %-10s CPU %.3f s in the %.2f s after a broadcast, %.3f s idle in as long (waiting for a core %.3f s): %.3f s per broadcast",
			c.Name, c.FanoutCPU, c.HalfSeconds, c.IdleCPU, c.FanoutWait, c.PerBroadcastCPU)
		if c.PerBroadcastConn != 0 {
			fmt.Fprintf(b, " (%.1f µs per connection)", c.PerBroadcastConn)
		}
		fmt.Fprintf(b, "; RSS after %.1f MiB\n", c.RSSAfterMiB)
	}
	if lasts := s.broadcastLasts(); len(lasts) > 0 && lasts[len(lasts)-1] > s.broadcastHalfMs() {
		fmt.Fprintf(b, "  (a fan-out outlasted half the interval: the CPU per broadcast above is cut short; use a longer -broadcast-interval)\n")
	}
	fmt.Fprintf(b, "machine while broadcasting: %.2f of %d cores busy (this tool %.2f; other work, not the servers: %.2f)\n",
		s.BroadcastMachineCores, numCPU(), s.BroadcastToolCores, s.BroadcastOtherCores)
}

// median of sorted v (not empty).
func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// broadcastLasts are the fan-out times of the broadcasts that were published, sorted.
func (s summary) broadcastLasts() []float64 {
	var out []float64
	for _, v := range s.Broadcasts {
		if v.Error == "" {
			out = append(out, v.Last)
		}
	}
	slices.Sort(out)
	return out
}

// broadcastHalfMs is half the broadcast interval, in ms.
func (s summary) broadcastHalfMs() float64 {
	d, err := time.ParseDuration(s.BroadcastInterval)
	if err != nil {
		return 0
	}
	return float64(d.Milliseconds()) / 2
}
