// Package memlimit gives the Go runtime a soft memory limit from the container's own
// limit, so the garbage collector works harder as the instance nears it instead of the
// kernel killing the process. Cloud Run sets a cgroup memory limit but not GOMEMLIMIT;
// without one the runtime only knows GOGC, which sizes the heap from the live heap
// alone and lets a burst (thousands of reconnects replaying at once) overshoot.
package memlimit

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Fraction of the container's limit given to the Go heap and runtime: the rest is kept
// for what the runtime does not count (thread stacks outside Go, the kernel's socket
// buffers charged to the cgroup, page cache of the binary).
const Fraction = 0.9

// cgroupFiles are where cgroup v2 and v1 publish the memory limit, in that order.
var cgroupFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// Set applies Fraction of the container's memory limit as the runtime's soft limit,
// unless GOMEMLIMIT is set (the operator's choice wins) or no finite limit is found. It
// returns the limit applied (0 when none) and where it came from.
func Set(getenv func(string) string) (int64, string) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, "GOMEMLIMIT"
	}
	limit, from := containerLimit(os.ReadFile)
	if limit <= 0 {
		return 0, "none"
	}
	applied := int64(float64(limit) * Fraction)
	debug.SetMemoryLimit(applied)
	return applied, from
}

// containerLimit reads the first finite cgroup memory limit.
func containerLimit(read func(string) ([]byte, error)) (int64, string) {
	for _, f := range cgroupFiles {
		b, err := read(f)
		if err != nil {
			continue // not this cgroup version, or not in a container
		}
		v := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(v, 10, 64)
		// cgroup v2 says "max" and v1 a huge number when there is no limit.
		if err != nil || n <= 0 || n >= 1<<60 {
			continue
		}
		return n, f
	}
	return 0, ""
}
