package redisbroker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

func TestNewClientAndNewRejectBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	for name, cfg := range map[string]config.Redis{
		"no address": {},
		"missing CA": {Addr: "127.0.0.1:1", TLSCA: filepath.Join(dir, "absent.pem")},
		"CA not PEM": {Addr: "127.0.0.1:1", TLSCA: notPEM},
	} {
		if _, err := redisbroker.NewClient(cfg); err == nil {
			t.Errorf("%s: NewClient succeeded", name)
		}
	}
	if _, err := redisbroker.New(nil, rediskey.Names{}, broker.DefaultLimits, redisbroker.Options{}); err == nil {
		t.Error("New accepted a nil client")
	}
	rdb, _ := redisbroker.NewClient(config.Redis{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	if _, err := redisbroker.New(rdb, rediskey.Names{}, broker.Limits{}, redisbroker.Options{}); err == nil {
		t.Error("New accepted zero limits")
	}
}

// TestTLSVerifiesTheChainOnly: a server whose certificate chains to the configured CA is
// accepted even though its name does not match (Memorystore's case); one signed by
// another CA is refused.
func TestTLSVerifiesTheChainOnly(t *testing.T) {
	t.Parallel()
	caCert, caKey := newCA(t)
	otherCert, otherKey := newCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), 0o600)

	for name, tc := range map[string]struct {
		ca   *x509.Certificate
		key  *ecdsa.PrivateKey
		want bool
	}{"signed by the CA": {caCert, caKey, true}, "signed by another CA": {otherCert, otherKey, false}} {
		leaf := newLeaf(t, tc.ca, tc.key)
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf}})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			// Answer like a RESP2-only server: refuse HELLO, answer everything else PONG.
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
		}()
		rdb, err := redisbroker.NewClient(config.Redis{Addr: ln.Addr().String(), TLSCA: caFile})
		if err != nil {
			t.Fatal(err)
		}
		err = rdb.Ping(context.Background()).Err()
		rdb.Close()
		ln.Close()
		if (err == nil) != tc.want {
			t.Errorf("%s: ping error %v", name, err)
		}
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "10.0.0.3"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("10.0.0.3")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestPubSubLossTriggersResync: killing the pub/sub connection makes Run reconnect,
// resubscribe and call Resync; Ready reports the outage while Redis is gone.
func TestPubSubLossTriggersResync(t *testing.T) {
	t.Parallel()
	own := redistest.Start(t, redistest.Options{})
	rdb, _ := redisbroker.NewClient(config.Redis{Addr: own.Addr})
	defer rdb.Close()
	reconnects := make(chan struct{}, 4)
	b, err := redisbroker.New(rdb, rediskey.Names{Prefix: "rs"}, broker.DefaultLimits,
		redisbroker.Options{PingInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := brokertest.NewRecorder()
	runningWith(t, b, "u", resyncSignal{rec, reconnects})
	ctx := context.Background()
	if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reconnects:
	case <-time.After(5 * time.Second):
		t.Fatal("no resync after the pub/sub connection was killed")
	}
	if _, _, err := b.Publish(ctx, "u", "m1", brokertest.Sample(1)); err != nil {
		t.Fatal(err)
	}
	rec.WaitFor(t, "u", 1) // still subscribed on the new connection

	own.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for b.Ready(ctx) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Ready still nil with Redis down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := b.Unsubscribe(ctx, "u"); err != nil && b.Ready(ctx) == nil {
		t.Fatal(err)
	}
}

// TestClientLogsRouted: a dial failure logged by go-redis arrives as a JSON WARN line.
// Not parallel: go-redis has one process-wide logger.
func TestClientLogsRouted(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	RouteClientLogsTo(t, &buf, &mu)
	rdb, _ := redisbroker.NewClient(config.Redis{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	rdb.Ping(context.Background())
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, `"component":"go-redis"`) {
		t.Fatalf("go-redis log not routed: %q", out)
	}
}
