package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Broadcast mode (-broadcast N). Once every connection is open and the per-user phase
// is over, the tool publishes N notifications to everyone (audience all: one entry in
// the broadcast log broker.Everyone and one PUBLISH, fanned out by each stream process
// to all its connections), one every -broadcast-interval. Each carries its number and
// the time it was sent in its title (lt-b-<k>-<sent unix ns>); every connection records
// when it got it. Per broadcast the summary reports the time to the first connection,
// p50, p99 and the last connection (the fan-out time), and the connections that got it
// not at all or more than once: every connection must get each broadcast exactly once.
//
// A broadcast is published either straight into Redis through shared/redisbroker (the
// default: -redis, the broker's key prefix -redis-prefix) — the same script the
// function runs, minus the function's HTTP leg — or through the function's Publish
// entry point (-broadcast-function URL: a CloudEvent whose data is an announcement with
// "audience":{"all":true}, docs/PROTOCOL.md "Input 2: notifications from any service").

// broadcastTitle is how a broadcast's title starts; the receiving worker reads k and
// the send time after it.
const broadcastTitle = "lt-b-"

var broadcastKey = []byte(`"title":"` + broadcastTitle)

// Ways a broadcast is published (summary.BroadcastVia).
const (
	viaRedis    = "redis"
	viaFunction = "function"
)

// broadcaster publishes broadcast k, sent at sent, to every user.
type broadcaster interface {
	broadcast(ctx context.Context, k int, sent time.Time) error
	close()
}

func broadcastTitleOf(k int, sent time.Time) string {
	return fmt.Sprintf("%s%d-%d", broadcastTitle, k, sent.UnixNano())
}

// redisBroadcaster stores and publishes through the broker the function uses.
type redisBroadcaster struct {
	b   *redisbroker.Broker
	run string // makes the message ids of this run unique
}

func newRedisBroadcaster(addr, prefix string) (*redisBroadcaster, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b, err := redisbroker.New(rdb, rediskey.Names{Prefix: prefix}, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		rdb.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		b.Close()
		return nil, fmt.Errorf("-redis %s: %w", addr, err)
	}
	return &redisBroadcaster{b: b, run: strconv.FormatInt(time.Now().UnixNano(), 10)}, nil
}

func (r *redisBroadcaster) broadcast(ctx context.Context, k int, sent time.Time) error {
	n := notification.Notification{Type: "announcement", Severity: notification.SeverityInfo,
		Title: broadcastTitleOf(k, sent), Text: "Load test broadcast", CreatedAt: notification.Timestamp{Time: sent}}
	_, dup, err := r.b.Publish(ctx, broker.Everyone, fmt.Sprintf("lt-b-%s-%d", r.run, k), n)
	if err == nil && dup {
		err = errors.New("broadcast deduplicated: its message id was used before")
	}
	return err
}

func (r *redisBroadcaster) close() { r.b.Close() }

// functionBroadcaster posts a CloudEvent to the function's Publish entry point.
type functionBroadcaster struct {
	url    string
	client *http.Client
	run    string
}

func (f *functionBroadcaster) broadcast(ctx context.Context, k int, sent time.Time) error {
	id := fmt.Sprintf("lt-b-%s-%d", f.run, k)
	data, _ := json.Marshal(map[string]any{"type": "announcement", "severity": "info",
		"audience": map[string]bool{"all": true}, "title": broadcastTitleOf(k, sent), "body": "Load test broadcast"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(eventarc.PushBody(data, id, sent)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", id)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", eventarc.EventType)
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/local/topics/notifications")
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the Publish entry point answered %s", resp.Status)
	}
	return nil
}

func (f *functionBroadcaster) close() {}

func newBroadcaster(o options) (broadcaster, error) {
	if o.broadcastFunction != "" {
		return &functionBroadcaster{url: o.broadcastFunction, client: &http.Client{Timeout: 10 * time.Second},
			run: strconv.FormatInt(time.Now().UnixNano(), 10)}, nil
	}
	return newRedisBroadcaster(o.redisAddr, o.redisPrefix)
}

// checkBroadcast validates the broadcast options (o.broadcasts > 0).
func (o *options) checkBroadcast() error {
	switch {
	case o.broadcasts < 0:
		return errors.New("-broadcast must be ≥ 0")
	case o.broadcasts == 0:
		return nil
	case o.system != systemOurs:
		return errors.New("-broadcast drives this project only (-system ours)")
	case o.publishOnly || o.conns == 0:
		return errors.New("-broadcast needs connections (-conns > 0, no -publish-only)")
	case o.broadcastInterval <= 0:
		return errors.New("-broadcast-interval must be positive")
	case o.broadcastFunction != "":
		return loopbackOnly(o.broadcastFunction)
	case o.redisAddr == "":
		return errors.New("-broadcast needs -redis (or REDIS_ADDR), or -broadcast-function")
	}
	if _, _, err := net.SplitHostPort(o.redisAddr); err != nil {
		return fmt.Errorf("-redis %q: %w", o.redisAddr, err)
	}
	return loopbackOnly("redis://" + o.redisAddr)
}

// sentBroadcast is one broadcast as the coordinator published it.
type sentBroadcast struct {
	k      int
	sent   time.Time
	answer time.Duration // publish call → return (the script, or the function's answer)
	err    error
}

// broadcastWindow is the servers' CPU over one broadcast interval, in two halves:
// the first starts with the publish and holds the fan-out, the second is the same
// length of idle time right after it. Their difference is what the broadcast cost,
// measured against the idle work (heartbeats, presence refresh, GC) of the same
// moment.
type broadcastWindow struct {
	start, mid, end []procSample
	first, second   float64 // seconds
}

// broadcastAll publishes o.broadcasts broadcasts, one at the start of each interval,
// sampling the watched servers at the start, middle and end of each interval.
func broadcastAll(ctx context.Context, o options, watch []watched) ([]sentBroadcast, []broadcastWindow, error) {
	b, err := newBroadcaster(o)
	if err != nil {
		return nil, nil, err
	}
	defer b.close()
	var sent []sentBroadcast
	var windows []broadcastWindow
	sleepUntil := func(t time.Time) error {
		select {
		case <-time.After(time.Until(t)):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	start := time.Now()
	for k := range o.broadcasts {
		due := start.Add(time.Duration(k) * o.broadcastInterval)
		if err := sleepUntil(due); err != nil {
			return sent, windows, err
		}
		var w broadcastWindow
		w.start = sample(watch)
		t := time.Now()
		err := b.broadcast(ctx, k, t)
		sent = append(sent, sentBroadcast{k: k, sent: t, answer: time.Since(t), err: err})
		if err := sleepUntil(due.Add(o.broadcastInterval / 2)); err != nil {
			return sent, windows, err
		}
		w.mid, w.first = sample(watch), time.Since(t).Seconds()
		mid := time.Now()
		if err := sleepUntil(due.Add(o.broadcastInterval)); err != nil {
			return sent, windows, err
		}
		w.end, w.second = sample(watch), time.Since(mid).Seconds()
		windows = append(windows, w)
	}
	return sent, windows, nil
}

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

// redisAddrDefault is REDIS_ADDR (scripts/loadtest.sh exports the private Redis's).
func redisAddrDefault() string { return os.Getenv("REDIS_ADDR") }

// redisPrefixDefault is the key prefix the servers use (REDIS_KEY_PREFIX, as
// shared/config reads it), or rediskey.DefaultPrefix.
func redisPrefixDefault() string {
	if p := os.Getenv("REDIS_KEY_PREFIX"); p != "" {
		return p
	}
	return rediskey.DefaultPrefix
}
