// Package listenfd lets a process serve on a listening socket its parent bound and
// handed over, named by a file descriptor in an environment variable. A parent (a test
// harness passing the socket in exec.Cmd.ExtraFiles: fd 3, 4, …) hands it over bound, so
// no other program can take the port between the parent choosing it and the child
// listening, as it could when the parent picked a free port, closed it and passed the
// number. bin/stream reads LISTEN_FD; bin/local reads LISTEN_FD and FUNCTION_LISTEN_FD.
package listenfd

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/vividly-edu/notifications/shared/config"
)

// Listen returns the inherited socket whose descriptor the variable fdVar holds, or,
// when fdVar is unset, a new TCP listener at addr (the production path).
func Listen(getenv config.Getenv, fdVar, addr string) (net.Listener, error) {
	v := getenv(fdVar)
	if v == "" {
		return net.Listen("tcp", addr)
	}
	// 0–2 are stdin, stdout and stderr: never a listener handed over.
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q: want the file descriptor of an inherited listening socket (3 or more)", fdVar, v)
	}
	f := os.NewFile(uintptr(fd), "inherited listener")
	// FileListener takes a duplicate; this process keeps no other use of fd.
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("%s=%d: %w", fdVar, fd, err)
	}
	return ln, nil
}

// Bind is the parent's side: it opens a listening socket at addr for a child process to
// serve, and returns it as a file for exec.Cmd.ExtraFiles (ExtraFiles[i] is the child's
// descriptor 3+i, which its variable names) with the address bound. Close the file once
// the child has started: the child holds its own descriptor, and a killed child's port
// then refuses connections instead of queueing them for a listener nobody serves.
func Bind(addr string) (*os.File, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	// The file is a descriptor of its own for the same socket.
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, "", err
	}
	return f, ln.Addr().String(), nil
}
