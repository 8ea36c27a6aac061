package main

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/vividly-edu/notifications/shared/config"
)

// listenFD names an inherited listening socket by its file descriptor. A parent that
// opened the socket itself (a test harness passing it in exec.Cmd.ExtraFiles: fd 3)
// hands it over bound, so no other program can take the port between the parent
// choosing it and this process listening, as it could when the parent picked a free
// port, closed it and passed PORT.
const listenFD = "LISTEN_FD"

// listen returns the public listener: the inherited socket when LISTEN_FD is set,
// otherwise a new one on every interface at port (Cloud Run's path).
func listen(getenv config.Getenv, port string) (net.Listener, error) {
	v := getenv(listenFD)
	if v == "" {
		return net.Listen("tcp", ":"+port)
	}
	// 0–2 are stdin, stdout and stderr: never a listener handed over.
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q: want the file descriptor of an inherited listening socket (3 or more)", listenFD, v)
	}
	f := os.NewFile(uintptr(fd), "inherited listener")
	// FileListener takes a duplicate; this process keeps no other use of fd.
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("%s=%d: %w", listenFD, fd, err)
	}
	return ln, nil
}
