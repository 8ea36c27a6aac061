package main

import (
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// TestRoomsRun: -mode rooms against a real stream server: every socket joins, every
// message and state reaches every member of its room (the sender included) and is
// timed, and no socket is closed by the server.
func TestRoomsRun(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	o := options{streams: startStream(t, rs.Addr), secret: testSecret, system: systemOurs, conns: 40, connectRate: 1000,
		rate: 40, duration: 2 * time.Second, idle: 200 * time.Millisecond, settle: time.Second, sources: 2, timeout: time.Minute}
	r, err := runRooms(o, 10, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.text())
	if r.Rooms != 4 || r.Sockets != 40 || r.ConnectFailed != 0 {
		t.Fatalf("%d sockets in %d rooms, %d failed", r.Sockets, r.Rooms, r.ConnectFailed)
	}
	if r.Messages < 40 || r.States < 8 || r.SendFailed != 0 {
		t.Errorf("sent %d messages and %d states, %d failed", r.Messages, r.States, r.SendFailed)
	}
	if r.Deliveries != r.Expected || int64(r.Latency.N) != r.Deliveries || r.Expected != (r.Messages+r.States)*10 {
		t.Errorf("delivered %d of %d expected, %d timed", r.Deliveries, r.Expected, r.Latency.N)
	}
	if r.StateLatency.N != int(r.States)*10 || len(r.ClosedByServer) != 0 {
		t.Errorf("%d state arrivals for %d states; closed by the server %v", r.StateLatency.N, r.States, r.ClosedByServer)
	}
}
