package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

type options struct {
	streams, function, secret, pids, jsonOut, pngOut string
	system, apiKey                                   string
	conns, users, inflight, procs, sources           int
	connectRate, rate                                float64
	duration, idle, settle, timeout                  time.Duration
	publishOnly                                      bool

	// -broadcast (broadcast.go)
	broadcasts                                int
	broadcastInterval                         time.Duration
	broadcastFunction, redisAddr, redisPrefix string
}

// The systems the tool can drive: ours (SSE from bin/stream, CloudEvents to the
// function) and, for a comparison on the same machine, Centrifugo (unidirectional SSE,
// its HTTP server API).
const (
	systemOurs       = "ours"
	systemCentrifugo = "centrifugo"
)

// connsPerProc leaves room under a 20,000 open-file limit for the process's own files.
const connsPerProc = 15000

func (o *options) check() error {
	for _, u := range append(strings.Split(o.streams, ","), strings.Split(o.function, ",")...) {
		if err := loopbackOnly(u); err != nil {
			return err
		}
	}
	switch {
	case o.system != systemOurs && o.system != systemCentrifugo:
		return fmt.Errorf("-system must be %q or %q", systemOurs, systemCentrifugo)
	case o.system == systemCentrifugo && o.apiKey == "":
		return errors.New("-system centrifugo needs -api-key (its HTTP API key)")
	case o.secret == "" && !o.publishOnly:
		return errors.New("need -secret (or JWT_SECRET) to sign the clients' tokens")
	case o.conns < 0 || o.rate <= 0 || o.duration <= 0 || o.connectRate <= 0 || o.inflight < 1:
		return errors.New("-conns must be ≥ 0; -rate, -duration, -connect-rate and -inflight positive")
	case o.sources < 1 || o.sources > 254:
		return errors.New("-sources must be from 1 to 254")
	}
	if err := o.checkBroadcast(); err != nil {
		return err
	}
	if o.publishOnly {
		o.conns = 0
	}
	if o.users == 0 {
		o.users = max(o.conns, 1)
	}
	if o.procs == 0 {
		o.procs = (o.conns + connsPerProc - 1) / connsPerProc
	}
	return nil
}

// loopbackOnly refuses any target that is not on 127.0.0.0/8: this tool generates load.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad URL %q", raw)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback() && ip.To4() != nil) {
		return nil
	}
	return fmt.Errorf("%s: only loopback (127.0.0.0/8) targets are allowed", raw)
}
