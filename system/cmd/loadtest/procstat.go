package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
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
	return s, nil
}
