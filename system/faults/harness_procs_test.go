package faults

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// proc is a bin/stream process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	addr   string
	exited chan struct{} // closed when the process has exited (any number may wait)
}

// startProcess starts bin/stream and waits until it is ready. The port is picked free
// (freePort) and then handed to the process, so another program may take it in
// between: a process that exits before it is ready is started again on another port.
func startProcess(t *testing.T, redisAddr string, extra map[string]string) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p := launchProcess(t, redisAddr, extra)
		if ready(p.url, p.exited) {
			return p
		}
		select {
		case <-p.exited:
			if attempt < 3 {
				continue
			}
		default:
		}
		t.Fatalf("%s not ready", p.url)
	}
}

// freePort returns a port that bin/stream can listen on (it listens on every address,
// ":PORT"), taken below the kernel's ephemeral range when it can be: with load tests
// running beside the suite, ports of that range offered by 127.0.0.1:0 were often
// taken again before the process listened ("address already in use").
func freePort(t *testing.T) string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &low)
	}
	for range 50 {
		if low <= 12000 {
			break
		}
		port := strconv.Itoa(10000 + rand.IntN(low-10000))
		if ln, err := net.Listen("tcp", ":"+port); err == nil {
			ln.Close()
			return port
		}
	}
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func launchProcess(t *testing.T, redisAddr string, extra map[string]string) *proc {
	t.Helper()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", port)
	env := streamEnv(redisAddr, extra)
	env["PORT"] = port
	cmd := exec.Command(streamBin)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, addr: addr, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.exited })
	return p
}
