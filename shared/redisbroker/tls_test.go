package redisbroker_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// TestTLSTrustsEveryCAOfABundle: while Memorystore rotates its server CA it lists two,
// and Terraform writes both into the REDIS_TLS_CA file, one after the other. A server
// signed by either must be accepted, one signed by neither refused; a bundle whose
// certificates run together without a newline (which would quietly trust only the
// ones before the join) is refused at start-up.
func TestTLSTrustsEveryCAOfABundle(t *testing.T) {
	t.Parallel()
	oldCA, oldKey := newCA(t)
	newCert, newKey := newCA(t)
	strangerCA, strangerKey := newCA(t)
	pemOf := func(der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	// As Terraform joins them: newline-separated, no trailing newline on the last.
	os.WriteFile(bundle, []byte(strings.TrimSpace(pemOf(oldCA.Raw))+"\n"+strings.TrimSpace(pemOf(newCert.Raw))), 0o600)

	servers := map[string]struct {
		leaf tls.Certificate
		want bool
	}{
		"signed by the first CA":  {newLeaf(t, oldCA, oldKey), true},
		"signed by the second CA": {newLeaf(t, newCert, newKey), true},
		"signed by neither":       {newLeaf(t, strangerCA, strangerKey), false},
	}
	for name, s := range servers {
		addr := pongServer(t, s.leaf)
		rdb, err := redisbroker.NewClient(config.Redis{Addr: addr, TLSCA: bundle})
		if err != nil {
			t.Fatal(err)
		}
		err = rdb.Ping(context.Background()).Err()
		rdb.Close()
		if (err == nil) != s.want {
			t.Errorf("%s: ping error %v", name, err)
		}
	}

	// The first certificate on its own line, the next two run together: x509 alone
	// would trust the first and drop the others without a word.
	runTogether := filepath.Join(dir, "run-together.pem")
	os.WriteFile(runTogether, []byte(pemOf(strangerCA.Raw)+strings.TrimSpace(pemOf(oldCA.Raw))+strings.TrimSpace(pemOf(newCert.Raw))), 0o600)
	if _, err := redisbroker.NewClient(config.Redis{Addr: "127.0.0.1:1", TLSCA: runTogether}); err == nil {
		t.Error("NewClient accepted a bundle whose certificates run together")
	}
	notCert := filepath.Join(dir, "key.pem")
	os.WriteFile(notCert, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), 0o600)
	if _, err := redisbroker.NewClient(config.Redis{Addr: "127.0.0.1:1", TLSCA: notCert}); err == nil {
		t.Error("NewClient accepted a PEM file without a certificate")
	}
}

// pongServer answers like a RESP2-only Redis over TLS with leaf until the test ends:
// HELLO refused, everything else +PONG.
func pongServer(t *testing.T, leaf tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			serveRESP2Pong(c)
		}
	}()
	return ln.Addr().String()
}

func serveRESP2Pong(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if strings.Contains(strings.ToUpper(string(buf[:n])), "HELLO") {
			c.Write([]byte("-ERR unknown command 'HELLO'\r\n"))
		} else {
			c.Write([]byte("+PONG\r\n"))
		}
	}
}
