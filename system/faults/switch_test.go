package faults

import (
	"io"
	"net"
	"sync"
	"testing"
)

// redisSwitch is one address in front of Redis whose target can change, cutting the
// connections made before: what a Memorystore failover looks like to its clients (the
// same address, now served by the promoted replica).
type redisSwitch struct {
	addr   string
	mu     sync.Mutex
	target string
	conns  map[net.Conn]struct{}
}

func startSwitch(t *testing.T, target string) *redisSwitch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &redisSwitch{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); s.switchTo(""); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

// switchTo sends new connections to target and cuts every open one.
func (s *redisSwitch) switchTo(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = target
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}

func (s *redisSwitch) serve(c net.Conn) {
	s.mu.Lock()
	target := s.target
	s.mu.Unlock()
	if target == "" {
		c.Close()
		return
	}
	b, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	s.mu.Lock()
	if s.target != target { // switched while dialling
		s.mu.Unlock()
		c.Close()
		b.Close()
		return
	}
	s.conns[c], s.conns[b] = struct{}{}, struct{}{}
	s.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	<-done
	s.mu.Lock()
	delete(s.conns, c)
	delete(s.conns, b)
	s.mu.Unlock()
}
