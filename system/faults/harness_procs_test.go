package faults

import (
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/vividly-edu/notifications/shared/listenfd"
)

// proc is a bin/stream process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	addr   string
	exited chan struct{} // closed when the process has exited (any number may wait)
}

// startProcess starts bin/stream on a listener this process has bound (LISTEN_FD), and
// waits until it is ready. Nothing can take the port in between, as it could when a
// free port was picked, closed and handed over as PORT.
func startProcess(t *testing.T, redisAddr string, extra map[string]string) *proc {
	t.Helper()
	p := launchProcess(t, redisAddr, extra)
	if !ready(p.url, p.exited) {
		t.Fatalf("%s not ready", p.url)
	}
	return p
}

func launchProcess(t *testing.T, redisAddr string, extra map[string]string) *proc {
	t.Helper()
	f, addr, err := listenfd.Bind("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// This process lets go of the socket once the child holds it: a killed child's port
	// must refuse connections, not queue them for a listener nobody serves.
	defer f.Close()
	env := streamEnv(redisAddr, extra)
	env["LISTEN_FD"] = "3" // ExtraFiles[0]
	cmd := exec.Command(streamBin)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, addr: addr, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.exited })
	return p
}
