package webpush

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/audience"
)

// BenchmarkBroadcastFanout measures one broadcast to FANOUT_USERS (default 100,000)
// offline users with one FCM device each, through the real path — the fan-out, the
// decision per user (presence, preferences, devices, coalescing window), the hand-off
// and the FCM Worker — against the loopback FCM stand-in, on one instance paced at
// FANOUT_RATE users/s (default 5000). Run it alone, once:
//
//	FANOUT_USERS=100000 FANOUT_RATE=5000 go test -run '^$' -bench BroadcastFanout -benchtime 1x ./internal/webpush/
//
// It reports the time from the function's queue entry to the last push, pushes per
// second, Redis commands per user (INFO commandstats, script-internal calls included),
// and CPU seconds per 1,000 pushes of this process (worker and stand-in together) and of
// redis-server. docs/PERFORMANCE.md has the figures.
func BenchmarkBroadcastFanout(b *testing.B) {
	users := envInt(b, "FANOUT_USERS", 100000)
	rate := envInt(b, "FANOUT_RATE", 5000)
	for range b.N {
		m := newMobileEnv(b, true, func(o *WorkerOptions) {
			o.Concurrency, o.MaxInFlight, o.Log = 256, 1024, nil
		})
		m.fcmSrv.CountOnly = true
		ctx := context.Background()
		names := m.devices.Names()
		members := redisbroker.NewMembers(m.rdb, names, time.Now)
		m.worker.opts.Fanout = audience.NewFanout(m.rdb, names, members, audience.FanoutOptions{Rate: float64(rate), Tick: 50 * time.Millisecond})
		load(b, m, users)

		cmds0, rcpu0, per0 := redisCommandStats(b, m.rdb)
		cpu0 := processCPU()
		start := time.Now()
		if _, err := Enqueue(ctx, m.rdb, m.queue, broker.Everyone,
			[]byte(`{"id":"!all:1-0","type":"announcement","severity":"info","title":"Snow day","body":"School is closed tomorrow.","created_at":"2026-12-06T07:00:00Z"}`)); err != nil {
			b.Fatal(err)
		}
		m.run(m.worker)
		m.run(m.fcmW)
		deadline := time.Now().Add(time.Duration(users/rate+120) * time.Second)
		for m.fcmSrv.Accepted() < users {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d pushed; worker %+v fcm %+v", m.fcmSrv.Accepted(), users, m.worker.Stats(), m.fcmW.Stats())
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(start)
		cpu := processCPU() - cpu0
		cmds1, rcpu1, per1 := redisCommandStats(b, m.rdb)
		for name, n := range per1 {
			if d := n - per0[name]; d >= int64(users)/10 {
				b.Logf("%-16s %5.2f per user", name, float64(d)/float64(users))
			}
		}
		if got := m.fcmSrv.Accepted(); got != users {
			b.Fatalf("%d pushes for %d users", got, users)
		}
		b.ReportMetric(took.Seconds(), "s_to_last_push")
		b.ReportMetric(float64(users)/took.Seconds(), "pushes/s")
		b.ReportMetric(float64(cmds1-cmds0)/float64(users), "redis_cmds/user")
		b.ReportMetric(cpu.Seconds()/float64(users)*1000, "cpu_s/1000_pushes")
		b.ReportMetric((rcpu1-rcpu0)/float64(users)*1000, "redis_cpu_s/1000_pushes")
		b.Logf("users %d rate %d/s: last push after %v", users, rate, took.Round(time.Millisecond))
	}
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// load gives n users a device and everyone-membership, pipelined (the fixture, not
// the path under test).
func load(tb testing.TB, m *mobileEnv, n int) {
	names := m.devices.Names()
	ctx := context.Background()
	now := time.Now().UnixMilli()
	for lo := 0; lo < n; lo += 1000 {
		_, err := m.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := lo; i < min(lo+1000, n); i++ {
				u := fmt.Sprintf("u%07d", i)
				p.HSet(ctx, names.PushDevices(u), "tok-"+u, `{"token":"tok-`+u+`","platform":"android"}`)
				p.ZAdd(ctx, names.Members(broker.Everyone), redis.Z{Member: u})
				p.ZAdd(ctx, names.MembersSeen(broker.Everyone), redis.Z{Score: float64(now), Member: u})
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// redisCommandStats returns the commands redis-server has run (INFO commandstats), in
// all and per command, and its CPU seconds (INFO cpu).
func redisCommandStats(tb testing.TB, rdb *redis.Client) (calls int64, cpu float64, per map[string]int64) {
	per = map[string]int64{}
	text, err := rdb.Info(context.Background(), "commandstats", "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "cmdstat_"); ok {
			name, stats, _ := strings.Cut(rest, ":")
			for f := range strings.SplitSeq(stats, ",") {
				if v, ok := strings.CutPrefix(f, "calls="); ok {
					n, _ := strconv.ParseInt(v, 10, 64)
					calls += n
					per[name] = n
				}
			}
		}
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				cpu += f
			}
		}
	}
	return calls, cpu, per
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
