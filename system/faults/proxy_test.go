package faults

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// proxy is a TCP load balancer on loopback: each new connection goes to the next
// backend that accepts it, round robin, as Cloud Run's front end would route a
// reconnecting browser to a live instance.
type proxy struct {
	ln       net.Listener
	mu       sync.Mutex
	backends []string
	next     int
}

func startProxy(t *testing.T, backends ...string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backends: backends}
	go p.serve()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) setBackends(b ...string) {
	p.mu.Lock()
	p.backends, p.next = b, 0
	p.mu.Unlock()
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *proxy) handle(client net.Conn) {
	defer client.Close()
	p.mu.Lock()
	order := make([]string, 0, len(p.backends))
	for i := range p.backends {
		order = append(order, p.backends[(p.next+i)%len(p.backends)])
	}
	p.next++
	p.mu.Unlock()
	for _, addr := range order {
		backend, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			continue
		}
		defer backend.Close()
		done := make(chan struct{}, 2)
		go func() { io.Copy(backend, client); done <- struct{}{} }()
		go func() { io.Copy(client, backend); done <- struct{}{} }()
		<-done // either side ended: end both
		return
	}
}
