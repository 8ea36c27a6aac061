package listenfd

import (
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestBindHandsTheSocketToAChild: a socket Bind opened, passed to a child process in
// ExtraFiles and named by LISTEN_FD=3, is the one the child serves, and the parent's
// copy closed right after the start does not stop it listening.
func TestBindHandsTheSocketToAChild(t *testing.T) {
	f, addr, err := Bind("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LISTENFD_CHILD=1", "LISTEN_FD=3")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "served" {
		t.Fatalf("read %q, %v: want the child's \"served\"", got, err)
	}
}

// TestMain lets this test binary be the child of TestBindHandsTheSocketToAChild: with
// LISTENFD_CHILD set it serves one connection on the socket LISTEN_FD names and exits.
func TestMain(m *testing.M) {
	if os.Getenv("LISTENFD_CHILD") != "" {
		os.Exit(serveOneConnection())
	}
	os.Exit(m.Run())
}

// serveOneConnection writes "served" to the first connection on the inherited socket; its
// result is the child's exit status.
func serveOneConnection() int {
	ln, err := Listen(os.Getenv, "LISTEN_FD", "127.0.0.1:1") // port 1: never the fallback
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	c, err := ln.Accept()
	if err != nil {
		return 3
	}
	_, _ = c.Write([]byte("served"))
	c.Close()
	return 0
}
