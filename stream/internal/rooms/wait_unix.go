//go:build unix

package rooms

import (
	"errors"
	"syscall"
)

// waitReadable blocks until conn has bytes to read, is closed, or its read deadline
// passes, reading nothing: a peek that would block parks the goroutine on the
// runtime's poller. It reports false when waiting is not possible (not a socket).
func waitReadable(conn any) (bool, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	return true, rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Data, end of stream or an error: the read that follows sees it.
		return !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK)
	})
}
