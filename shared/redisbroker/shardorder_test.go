package redisbroker

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestCreatedMs(t *testing.T) {
	for payload, want := range map[string]uint64{
		`{"id":"1764174645123-0","type":"x"}`:          1764174645123,
		`{"id":"@class-1:1764174645124-7","type":"x"}`: 1764174645124,
		`{"id":"!all:5-0"}`:                            5,
		`{"ctl":"read","data":{"all":true}}`:           0,
		`{"id":"nonsense"}`:                            0,
		`{"id":"12`:                                    0,
	} {
		if got := createdMs(payload); got != want {
			t.Errorf("createdMs(%s) = %d, want %d", payload, got, want)
		}
	}
}

// TestMergeOrdersAcrossConnections: two connections' batches, pushed in turns as their
// reading goroutines reach the session, come out oldest first, each connection's own
// order kept (a control stays where its connection put it).
func TestMergeOrdersAcrossConnections(t *testing.T) {
	a, b := &shardConn{addr: "a"}, &shardConn{addr: "b"}
	msg := func(p string) *redis.Message { return &redis.Message{Payload: p} }
	var o merge
	o.push(b, msg(`{"id":"!all:20-0"}`))
	o.push(b, msg(`{"id":"!all:21-0"}`))
	o.push(a, msg(`{"id":"@g:10-0"}`))
	o.push(a, msg(`{"ctl":"read"}`))
	o.push(a, msg(`{"id":"@g:22-0"}`))
	o.push(b, msg(`{"id":"!all:23-0"}`))
	var got []string
	for !o.empty() {
		got = append(got, o.pop().Payload)
	}
	want := []string{`{"id":"@g:10-0"}`, `{"ctl":"read"}`, `{"id":"!all:20-0"}`, `{"id":"!all:21-0"}`,
		`{"id":"@g:22-0"}`, `{"id":"!all:23-0"}`}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
