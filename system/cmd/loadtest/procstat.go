package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// watched is a server process whose memory and CPU the summary reports.
type watched struct {
	name string
	pid  int
}

type procSample struct {
	name     string
	rssKiB   int64
	cpuTicks int64 // utime + stime, in clock ticks
	// waitNanos is the time the process's threads spent runnable but waiting for a
	// CPU (/proc/PID/schedstat, summed over threads): queueing for a core.
	waitNanos int64
}

// clockTicks is USER_HZ, 100 on every Linux platform Go supports.
const clockTicks = 100

func parsePids(spec string) ([]watched, error) {
	var out []watched
	for _, part := range strings.Split(spec, ",") {
		if part == "" {
			continue
		}
		name, p, ok := strings.Cut(part, "=")
		pid, err := strconv.Atoi(p)
		if !ok || err != nil || pid <= 0 {
			return nil, fmt.Errorf("-pids: %q is not name=pid", part)
		}
		if _, err := readProc(pid); err != nil {
			return nil, fmt.Errorf("-pids: %s: %w", part, err)
		}
		out = append(out, watched{name, pid})
	}
	return out, nil
}

func sample(ws []watched) []procSample {
	out := make([]procSample, len(ws))
	for i, w := range ws {
		out[i], _ = readProc(w.pid)
	}
	for i := range ws {
		out[i].name = ws[i].name
	}
	return out
}

// readProc reads VmRSS from /proc/PID/status and utime+stime from /proc/PID/stat.
func readProc(pid int) (procSample, error) {
	var s procSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.rssKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if len(f) < 13 {
		return s, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpuTicks = utime + stime
	s.waitNanos = runQueueWait(pid)
	return s, nil
}

// runQueueWait sums the run-queue wait of every thread of pid (the second field of
// /proc/PID/task/TID/schedstat); 0 where the kernel does not report it.
func runQueueWait(pid int) int64 {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	var sum int64
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(data)); len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sum += n
		}
	}
	return sum
}

// machineTicks reads the CPU time of the whole machine from /proc/stat: busy (all but
// idle and iowait) and total, in clock ticks summed over CPUs.
func machineTicks() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// cpuTicksOf sums utime+stime of pids (0 for any that is gone).
func cpuTicksOf(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		if s, err := readProc(pid); err == nil {
			sum += s.cpuTicks
		}
	}
	return sum
}

// machineWindow measures, over a window, how busy the machine was and how much of that
// was neither the watched servers nor this tool: the load other work put on the cores
// the test shares with it.
type machineWindow struct {
	busy0, total0, tool0 int64
	start                time.Time
}

func startWindow(tool []int) machineWindow {
	b, t := machineTicks()
	return machineWindow{busy0: b, total0: t, tool0: cpuTicksOf(tool), start: time.Now()}
}

// end returns the average busy cores of the machine, of this tool (coordinator and
// workers), and of everything else but the watched servers (serverSecs).
func (w machineWindow) end(tool []int, serverSecs float64) (machine, toolCores, others float64) {
	b, _ := machineTicks()
	secs := time.Since(w.start).Seconds()
	if secs <= 0 {
		return 0, 0, 0
	}
	machine = float64(b-w.busy0) / clockTicks / secs
	toolCores = float64(cpuTicksOf(tool)-w.tool0) / clockTicks / secs
	others = machine - toolCores - serverSecs/secs
	return machine, toolCores, max(0, others)
}
