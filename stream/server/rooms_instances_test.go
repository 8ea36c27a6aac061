package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRooms_AcrossInstances: two instances over one Redis serve one room — a message,
// a state change and presence sent on one reach the sockets of the other.
func TestRooms_AcrossInstances(t *testing.T) {
	t.Parallel()
	e := &env{t: t}
	e.names.Prefix = fmt.Sprintf("ri%d", prefixes.Add(1))
	e.rdb, e.pub = newBroker(t, e.names)
	instance := func() string {
		rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
		t.Cleanup(func() { rdb.Close() })
		e.rooms = RedisRooms(rdb, e.names.Prefix)
		e.start(nil)
		return e.url
	}
	a, b := instance(), instance()
	e.url = a
	teacher, _ := e.join("class-1", roomToken(t, "t-1", time.Hour, true, "class-1"), "")
	e.url = b
	student, w := e.join("class-1", roomToken(t, "s-1", time.Hour, false, "class-1"), "")
	if fmt.Sprint(w["members"]) != "[map[teacher:false user:s-1] map[teacher:true user:t-1]]" {
		t.Fatalf("members seen on b = %v", w["members"])
	}
	if j := teacher.until("join"); j["user"] != "s-1" {
		t.Fatalf("join on a = %v", j)
	}
	student.send(wsFrame{"op": "send", "text": "hello from b"})
	if m := teacher.until("message"); m["text"] != "hello from b" {
		t.Fatalf("message on a = %v", m)
	}
	teacher.send(wsFrame{"op": "state", "state": wsFrame{"t": 42}, "version": 0})
	if s := student.until("state"); s["version"] != 1.0 || fmt.Sprint(s["state"]) != "map[t:42]" {
		t.Fatalf("state on b = %v", s)
	}
	_ = student.c.CloseNow()
	if l := teacher.until("leave"); l["user"] != "s-1" {
		t.Fatalf("leave on a = %v", l)
	}
}
