package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dist is a distribution in milliseconds.
type dist struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
}

// percentiles sorts v and returns its distribution, dividing by unit to get ms.
func percentiles(v []int64, unit float64) dist {
	slices.Sort(v)
	at := func(p float64) float64 {
		if len(v) == 0 {
			return 0
		}
		i := int(math.Ceil(p*float64(len(v)))) - 1
		return float64(v[max(0, min(i, len(v)-1))]) / unit
	}
	return dist{N: len(v), P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: at(1)}
}

type serverStat struct {
	Name           string  `json:"name"`
	StartRSSMiB    float64 `json:"rss_before_mib"`
	ConnRSSMiB     float64 `json:"rss_connected_mib"`
	IdleRSSMiB     float64 `json:"rss_idle_mib"`
	ConnPerConnKiB float64 `json:"rss_per_conn_connected_kib,omitempty"`
	RSSPerConnKiB  float64 `json:"rss_per_conn_idle_kib,omitempty"`
	CPUSeconds     float64 `json:"cpu_seconds_publishing"`
	WaitSeconds    float64 `json:"runqueue_wait_seconds_publishing"` // runnable, waiting for a core
	ConnectCPUSecs float64 `json:"cpu_seconds_connecting"`
}

type summary struct {
	System             string       `json:"system"`
	Conns              int          `json:"conns"`
	Users              int          `json:"users"`
	Procs              int          `json:"worker_procs"`
	Rate               float64      `json:"rate_per_s"`
	Inflight           int          `json:"inflight_per_endpoint"`
	Duration           string       `json:"duration"`
	Idle               string       `json:"idle"`
	ConnectFailed      int          `json:"connect_failed"`
	ConnectErrors      []string     `json:"connect_errors,omitempty"`
	ConnectSeconds     float64      `json:"connect_seconds"`
	Connect            dist         `json:"connect"`
	Published          int          `json:"published"`
	PublishFailed      int          `json:"publish_failed"`
	PublishError       string       `json:"publish_error,omitempty"`
	PublishedPerSecond float64      `json:"published_per_s"`
	PublishAnswer      dist         `json:"publish_answer"` // request sent → answer`
	Expected           int          `json:"expected"`
	Delivered          int          `json:"delivered"`
	Lost               int          `json:"lost"`
	Duplicated         int          `json:"duplicated"`
	Dropped            int          `json:"dropped_conns"`
	Latency            dist         `json:"latency"`               // publish sent → frame received
	FromSchedule       dist         `json:"latency_from_schedule"` // publish due by the schedule → frame received
	Servers            []serverStat `json:"servers"`
	CPUPer1000         float64      `json:"cpu_seconds_per_1000_delivered"`
	CPUPer1000Pub      float64      `json:"cpu_seconds_per_1000_published,omitempty"` // -publish-only
	// Average busy cores while publishing: the whole machine, this tool, and the rest
	// (neither the tool nor the watched servers: other work sharing the machine).
	MachineCores float64 `json:"machine_busy_cores"`
	ToolCores    float64 `json:"loadtest_busy_cores"`
	OtherCores   float64 `json:"other_busy_cores"`

	// -broadcast: one stat per broadcast, the servers' CPU per broadcast interval, and
	// the machine while broadcasting.
	BroadcastVia          string          `json:"broadcast_via,omitempty"` // redis or function
	BroadcastInterval     string          `json:"broadcast_interval,omitempty"`
	BroadcastConns        int             `json:"broadcast_conns,omitempty"` // connections open: each must get each broadcast once
	BroadcastStreams      int             `json:"broadcast_stream_procs,omitempty"`
	Broadcasts            []broadcastStat `json:"broadcasts,omitempty"`
	BroadcastServers      []broadcastCPU  `json:"broadcast_servers,omitempty"`
	BroadcastMachineCores float64         `json:"broadcast_machine_busy_cores,omitempty"`
	BroadcastToolCores    float64         `json:"broadcast_loadtest_busy_cores,omitempty"`
	BroadcastOtherCores   float64         `json:"broadcast_other_busy_cores,omitempty"`

	latencies []int64 // ns, sorted; for the plot
}

// countDeliveries compares what each user's connections received with what was sent
// to that user: each of the user's k connections must get each notification once.
func (s *summary) countDeliveries(sent []string, received map[string]map[int]int, conns map[string]int) {
	for seq, user := range sent {
		if user == "" {
			continue // a publish that failed: Pub/Sub would retry it
		}
		k := conns[user]
		s.Expected += k
		got := received[user][seq]
		s.Delivered += min(got, k)
		if got < k {
			s.Lost += k - got
		} else {
			s.Duplicated += got - k
		}
	}
}

// holdsConnections says whether a watched process is one the clients connect to
// (named stream…, or centrifugo…): their RSS growth is divided among the connections.
func holdsConnections(name string) bool {
	return strings.HasPrefix(name, "stream") || strings.HasPrefix(name, "centrifugo")
}

func serverMemory(before, connected, idle []procSample, conns int) []serverStat {
	streams := 0
	for _, b := range before {
		if holdsConnections(b.name) {
			streams++
		}
	}
	out := make([]serverStat, len(before))
	for i := range before {
		out[i] = serverStat{Name: before[i].name, StartRSSMiB: float64(before[i].rssKiB) / 1024,
			ConnRSSMiB: float64(connected[i].rssKiB) / 1024, IdleRSSMiB: float64(idle[i].rssKiB) / 1024,
			ConnectCPUSecs: float64(connected[i].cpuTicks-before[i].cpuTicks) / clockTicks}
		if holdsConnections(before[i].name) && conns > 0 {
			per := float64(conns) / float64(streams)
			out[i].ConnPerConnKiB = float64(connected[i].rssKiB-before[i].rssKiB) / per
			out[i].RSSPerConnKiB = float64(idle[i].rssKiB-before[i].rssKiB) / per
		}
	}
	return out
}

// cpu fills each server's CPU while publishing (from idle to after), and the total per
// 1,000 notifications delivered.
func (s *summary) cpu(before, idle, after []procSample) {
	total := 0.0
	for i := range after {
		secs := float64(after[i].cpuTicks-idle[i].cpuTicks) / clockTicks
		s.Servers[i].CPUSeconds = secs
		s.Servers[i].WaitSeconds = float64(after[i].waitNanos-idle[i].waitNanos) / 1e9
		total += secs
	}
	if s.Delivered > 0 && len(after) > 0 {
		s.CPUPer1000 = total / (float64(s.Delivered) / 1000)
	}
	if s.Published > 0 && s.Expected == 0 && len(after) > 0 {
		s.CPUPer1000Pub = total / (float64(s.Published) / 1000)
	}
}

func (s summary) ok() bool {
	return s.Lost == 0 && s.Duplicated == 0 && s.ConnectFailed == 0 && s.Dropped == 0 && s.PublishFailed == 0 &&
		s.broadcastOK()
}

func numCPU() int { return runtime.NumCPU() }

func (s summary) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connections %d (%d users, %d worker processes): opened in %.1f s, %d failed\n",
		s.Conns, s.Users, s.Procs, s.ConnectSeconds, s.ConnectFailed)
	for _, e := range s.ConnectErrors {
		fmt.Fprintf(&b, "  connect error: %s\n", e)
	}
	if s.Connect.N > 0 {
		fmt.Fprintf(&b, "connect (request → 200, JWT + subscribe + replay check): p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
			s.Connect.P50, s.Connect.P99, s.Connect.Max)
	}
	fmt.Fprintf(&b, "published %d at %.0f/s (asked %.0f/s for %s, %d in flight per endpoint), %d failed; answer p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
		s.Published, s.PublishedPerSecond, s.Rate, s.Duration, s.Inflight, s.PublishFailed,
		s.PublishAnswer.P50, s.PublishAnswer.P99, s.PublishAnswer.Max)
	if s.PublishError != "" {
		fmt.Fprintf(&b, "  first publish error: %s\n", s.PublishError)
	}
	if s.Expected > 0 {
		fmt.Fprintf(&b, "delivered %d / expected %d: lost %d, duplicated %d, connections dropped %d\n",
			s.Delivered, s.Expected, s.Lost, s.Duplicated, s.Dropped)
		fmt.Fprintf(&b, "publish→receive latency: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
			s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.P999, s.Latency.Max)
		fmt.Fprintf(&b, "schedule→receive latency: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
			s.FromSchedule.P50, s.FromSchedule.P90, s.FromSchedule.P99, s.FromSchedule.P999, s.FromSchedule.Max)
	}
	for _, v := range s.Servers {
		fmt.Fprintf(&b, "  %-10s RSS %.1f → %.1f MiB connected → %.1f MiB after %s idle", v.Name, v.StartRSSMiB, v.ConnRSSMiB, v.IdleRSSMiB, s.Idle)
		if v.RSSPerConnKiB > 0 {
			fmt.Fprintf(&b, " (%.1f → %.1f KiB per connection)", v.ConnPerConnKiB, v.RSSPerConnKiB)
		}
		fmt.Fprintf(&b, "; CPU connecting %.2f s, publishing %.2f s (and %.2f s runnable, waiting for a core)\n",
			v.ConnectCPUSecs, v.CPUSeconds, v.WaitSeconds)
	}
	if s.CPUPer1000 > 0 {
		fmt.Fprintf(&b, "server CPU per 1,000 delivered: %.3f s\n", s.CPUPer1000)
	}
	if s.CPUPer1000Pub > 0 {
		fmt.Fprintf(&b, "server CPU per 1,000 published: %.3f s\n", s.CPUPer1000Pub)
	}
	fmt.Fprintf(&b, "machine while publishing: %.2f of %d cores busy (this tool %.2f; other work, not the servers: %.2f)\n",
		s.MachineCores, runtime.NumCPU(), s.ToolCores, s.OtherCores)
	s.broadcastText(&b)
	return b.String()
}

func (s summary) write(o options) error {
	if o.jsonOut != "" {
		data, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonOut, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	if o.pngOut != "" && len(s.latencies) > 0 {
		return plotLatency(s, o.pngOut)
	}
	return nil
}

// plotLatency draws a histogram of the latencies (up to p99.9, so the tail does not
// squash the body) above their CDF on a log axis.
func plotLatency(s summary, path string) error {
	ms := make(plotter.Values, len(s.latencies))
	for i, v := range s.latencies {
		ms[i] = float64(v) / 1e6
	}
	cut := ms[:max(1, int(0.999*float64(len(ms))))]
	hist := plot.New()
	hist.Title.Text = fmt.Sprintf("publish → receive latency, %d notifications to %d connections (≤ p99.9)", s.Delivered, s.Conns)
	hist.X.Label.Text = "ms"
	hist.Y.Label.Text = "notifications"
	h, err := plotter.NewHist(cut, 60)
	if err != nil {
		return err
	}
	h.FillColor = color.RGBA{R: 29, G: 112, B: 184, A: 255}
	hist.Add(h)

	cdf := plot.New()
	cdf.Title.Text = fmt.Sprintf("CDF (p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms)",
		s.Latency.P50, s.Latency.P99, s.Latency.P999, s.Latency.Max)
	cdf.X.Label.Text = "ms (log)"
	cdf.Y.Label.Text = "fraction received"
	cdf.X.Scale = plot.LogScale{}
	cdf.X.Tick.Marker = plot.LogTicks{Prec: -1}
	step := max(1, len(ms)/2000)
	var pts plotter.XYs
	for i := 0; i < len(ms); i += step {
		pts = append(pts, plotter.XY{X: math.Max(ms[i], 1e-3), Y: float64(i+1) / float64(len(ms))})
	}
	pts = append(pts, plotter.XY{X: math.Max(ms[len(ms)-1], 1e-3), Y: 1})
	line, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	cdf.Add(line, plotter.NewGrid())

	img := vg.Length(18) * vg.Centimeter
	c := vgimg.New(img, img*1.1)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Centimeter / 2, PadTop: vg.Centimeter / 4, PadBottom: vg.Centimeter / 4}
	canvases := plot.Align([][]*plot.Plot{{hist}, {cdf}}, tiles, draw.New(c))
	hist.Draw(canvases[0][0])
	cdf.Draw(canvases[1][0])
	return savePNG(c, path)
}

func savePNG(c *vgimg.Canvas, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
