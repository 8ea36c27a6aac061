// Package redistest starts private redis-server processes for tests: each on a free
// loopback port, with its own directory, stopped when the test ends. A machine without
// redis-server fails loudly with the install hint; `make test` installs it first.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Server is one running redis-server.
type Server struct {
	Addr    string
	dir     string
	port    int
	persist bool
	replica string
	cmd     *exec.Cmd
}

// Options tune a server.
type Options struct {
	// Persist turns on the append-only file, so a restart keeps the data.
	Persist bool
	// ReplicaOf ("host:port") starts the server as a replica of that primary.
	ReplicaOf string
}

var seq atomic.Int64

// Start runs a redis-server for tb and stops it at cleanup.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := StartProcess(tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartProcess runs a redis-server whose files live in dir; the caller must Stop it.
// It is for TestMain, where there is no testing.TB.
func StartProcess(dir string, opts Options) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server not found: the integration tests need a real Redis " +
			"(Debian: apt-get install -y redis-server; `make test` does this for you)")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: filepath.Join(dir, "redis-"+strconv.FormatInt(seq.Add(1), 10)), port: port, persist: opts.Persist, replica: opts.ReplicaOf,
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	return s, s.start()
}

func (s *Server) start() error {
	aof := "no"
	if s.persist {
		aof = "yes"
	}
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--save", "", "--appendonly", aof, "--appendfsync", "always",
		"--daemonize", "no", "--logfile", filepath.Join(s.dir, "redis.log"),
		// A replica's first sync starts at once instead of after the default 5 s.
		"--repl-diskless-sync-delay", "0"}
	if s.replica != "" {
		host, port, err := net.SplitHostPort(s.replica)
		if err != nil {
			return fmt.Errorf("ReplicaOf: %w", err)
		}
		args = append(args, "--replicaof", host, port)
	}
	s.cmd = exec.Command("redis-server", args...)
	// Killed with the test binary if that dies without its cleanups (a goroutine's
	// panic, -timeout).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if err := ping(s.Addr); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("redis-server on %s did not answer PING within 10s", s.Addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart stops the server and starts it again on the same port (keeping its data only
// with Options.Persist).
func (s *Server) Restart() error {
	s.Stop()
	return s.start()
}

// ping sends an inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Main is a TestMain body for packages that share one private server: it starts it,
// hands it to set, runs the tests and stops it. Use: os.Exit(redistest.Main(m, func(s
// *redistest.Server) { srv = s })).
func Main(m *testing.M, set func(*Server)) int {
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := StartProcess(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Stop()
	set(s)
	return m.Run()
}
