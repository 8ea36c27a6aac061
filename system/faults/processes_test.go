package faults

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// Fault 3: two stream processes behind a proxy; one is SIGKILLed mid-stream; its
// clients reconnect through the proxy to the other with Last-Event-ID.
func TestFault3_ProcessKilled(t *testing.T) {
	addr := startRedis(t)
	a := startProcess(t, addr, nil)
	b := startProcess(t, addr, nil)
	px := startProxy(t, a.addr, b.addr)
	f := openFleet(t, 40, 2, px.url, time.Hour)
	p := newPublisher(t, addr)
	var killed time.Time
	for i := range 400 {
		if i == 200 {
			if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = time.Now()
		}
		p.publishMixed(t, f, i, fmt.Sprint("user-", i%40))
		time.Sleep(time.Millisecond)
	}
	published := time.Since(killed)
	f.verify(t, "3 one of two processes SIGKILLed, 400 notifications (own, group, broadcast), 40 users x 2 tabs", 30*time.Second)
	line := fmt.Sprintf("FAULT 3 all %d tabs reconnected and caught up %.2f s after the kill (publishing ended at %.2f s)",
		len(f.tabs), f.caughtUpAt().Sub(killed).Seconds(), published.Seconds())
	t.Log(line)
	fmt.Println(line)
}

// Fault 4: a process holding 1,000 open streams gets SIGTERM (Cloud Run scale-down):
// it must exit within 10 s, and every client resumes on another process without loss.
func TestFault4_ProcessTerminatedWith1000Streams(t *testing.T) {
	addr := startRedis(t)
	a := startProcess(t, addr, nil)
	b := startProcess(t, addr, nil)
	px := startProxy(t, a.addr) // everyone lands on a
	f := openFleet(t, 500, 2, px.url, time.Hour)
	px.setBackends(b.addr) // new connections go to b, as the balancer stops routing to a
	p := newPublisher(t, addr)
	for i := range 250 {
		p.publishMixed(t, f, i, fmt.Sprint("user-", i%500))
	}
	start := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan time.Duration, 1)
	go func() { <-a.exited; exited <- time.Since(start) }()
	for i := 250; i < 1000; i++ {
		p.publishMixed(t, f, i, fmt.Sprint("user-", i%500))
		if i%50 == 0 {
			time.Sleep(10 * time.Millisecond) // keep publishing through the drain
		}
	}
	published := time.Since(start)
	var took time.Duration
	select {
	case took = <-exited:
	case <-time.After(15 * time.Second):
		t.Fatal("process did not exit within 15 s of SIGTERM")
	}
	f.verify(t, "4 SIGTERM with 1000 open streams, 1000 notifications (own, group, broadcast), 500 users x 2 tabs", 60*time.Second)
	line := fmt.Sprintf("FAULT 4 process exited %.2f s after SIGTERM (limit 10 s); all %d tabs reconnected and caught up %.2f s after it (publishing ended at %.2f s)",
		took.Seconds(), len(f.tabs), f.caughtUpAt().Sub(start).Seconds(), published.Seconds())
	t.Log(line)
	fmt.Println(line)
	if took > 10*time.Second {
		t.Fatalf("exit took %s, over Cloud Run's 10 s", took)
	}
}
