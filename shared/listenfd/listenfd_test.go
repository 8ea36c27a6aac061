package listenfd

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// dupFD returns a new descriptor of c's socket or file, owned by the caller (Listen
// takes it over and closes it).
func dupFD(t *testing.T, c syscall.Conn) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(orig uintptr) { fd, dupErr = syscall.Dup(int(orig)) }); err != nil || dupErr != nil {
		t.Fatal(err, dupErr)
	}
	return fd
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestListenServesTheInheritedSocket: with the variable set, the listener is the socket
// the parent bound (same address, connections accepted) and the address is not used.
func TestListenServesTheInheritedSocket(t *testing.T) {
	parent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fd := dupFD(t, parent.(*net.TCPListener))
	parent.Close() // the child's descriptor keeps the socket listening

	ln, err := Listen(env(map[string]string{"LISTEN_FD": strconv.Itoa(fd)}), "LISTEN_FD", "not an address")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != parent.Addr().String() {
		t.Fatalf("listening on %s, want the inherited %s", ln.Addr(), parent.Addr())
	}
	c, err := net.Dial("tcp", parent.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	accepted.Close()
}

// TestListenWithoutTheVariableBindsAddr: the production path listens at addr itself.
func TestListenWithoutTheVariableBindsAddr(t *testing.T) {
	ln, err := Listen(env(nil), "LISTEN_FD", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if port := ln.Addr().(*net.TCPAddr).Port; port == 0 {
		t.Fatalf("listening on %s", ln.Addr())
	}
}

// TestListenRefusesWhatIsNoListener: a value that is no descriptor, one of the
// standard streams, or a descriptor of a plain file stops the process with an error
// naming the variable.
func TestListenRefusesWhatIsNoListener(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "plain"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, v := range []string{"three", "1", "-4", strconv.Itoa(dupFD(t, f))} {
		ln, err := Listen(env(map[string]string{"FUNCTION_LISTEN_FD": v}), "FUNCTION_LISTEN_FD", "127.0.0.1:0")
		if err == nil {
			ln.Close()
			t.Errorf("FUNCTION_LISTEN_FD=%s: a listener, want an error", v)
		} else if !strings.Contains(err.Error(), "FUNCTION_LISTEN_FD") {
			t.Errorf("FUNCTION_LISTEN_FD=%s: error %q does not name the variable", v, err)
		}
	}
}
