package redistest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Link is a TCP forwarder on loopback that delays every chunk of bytes, each way, by a
// random time between its bounds (keeping their order): a replica in another zone
// under load, as seen by its primary. Point a replica at Link.Addr instead of the
// primary's address.
type Link struct {
	Addr   string
	target string

	ln       net.Listener
	mu       sync.Mutex
	min, max time.Duration
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// StartLink forwards connections made to the returned Link's Addr to target, each
// direction delayed by min to max; it is closed at cleanup.
func StartLink(tb testing.TB, target string, minDelay, maxDelay time.Duration) *Link {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	l := &Link{Addr: ln.Addr().String(), target: target, min: minDelay, max: maxDelay, ln: ln, conns: map[net.Conn]struct{}{}}
	l.wg.Go(l.serve)
	tb.Cleanup(l.Close)
	return l
}

// SetDelay changes the delay of the bytes read from now on (those already held keep
// theirs, and nothing overtakes them).
func (l *Link) SetDelay(minDelay, maxDelay time.Duration) {
	l.mu.Lock()
	l.min, l.max = minDelay, maxDelay
	l.mu.Unlock()
}

func (l *Link) delay() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.min + rand.N(l.max-l.min+1)
}

// Close stops listening, cuts every forwarded connection and waits for its goroutines.
func (l *Link) Close() {
	l.ln.Close()
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.conns = nil // track refuses what serve accepts from now on
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *Link) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", l.target, time.Second)
		if err != nil {
			c.Close()
			continue
		}
		if !l.track(c, up) {
			return
		}
		l.wg.Go(func() {
			var pair sync.WaitGroup
			pair.Go(func() { l.pipe(up, c) })
			pair.Go(func() { l.pipe(c, up) })
			pair.Wait()
			l.untrack(c, up)
		})
	}
}

// track registers a pair of connections, or closes them when the link is closing.
func (l *Link) track(cs ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		l.conns[c] = struct{}{}
	}
	return true
}

func (l *Link) untrack(cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		delete(l.conns, c)
	}
}

type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, each chunk held until its due time; when either side ends,
// both are closed (the other pipe of the pair then ends too).
func (l *Link) pipe(dst, src net.Conn) {
	q := make(chan chunk, 1024)
	var w sync.WaitGroup
	w.Go(func() {
		defer dst.Close()
		for c := range q {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.data); err != nil {
				src.Close()
				for range q { // drain so the reader never blocks
				}
				return
			}
		}
	})
	var last time.Time
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			due := time.Now().Add(l.delay())
			if due.Before(last) {
				due = last // never reorder
			}
			last = due
			q <- chunk{data: append([]byte(nil), buf[:n]...), due: due}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			break
		}
	}
	close(q)
	w.Wait()
}

// WaitSynced waits until the replica at replica reports its link up
// (master_link_status:up) and its primary lists it online (the primary learns that
// from the replica's first acknowledgement, one link delay later): WAIT then counts it.
func WaitSynced(primary, replica string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		info, err := command(replica, "INFO replication\r\n")
		if err == nil && strings.Contains(info, "master_link_status:up") {
			info, err = command(primary, "INFO replication\r\n")
			if err == nil && strings.Contains(info, "state=online") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s not in sync within %s (last: %v)", replica, within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// command sends one inline command and returns its reply: a bulk string's body, or
// the line of any other reply.
func command(addr, inline string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(inline)); err != nil {
		return "", err
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "$") {
		return line, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 0 {
		return "", fmt.Errorf("bulk reply %q", line)
	}
	body := make([]byte, n)
	_, err = io.ReadFull(rd, body)
	return string(body), err
}
