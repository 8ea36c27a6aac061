package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// TestErasureClosesStreamsAndRoomSockets: erasing a user closes that user's open
// streams and room sockets on the instance (the erase control on the broadcast
// channel); another user's stream stays open.
func TestErasureClosesStreamsAndRoomSockets(t *testing.T) {
	t.Parallel()
	e := &env{t: t, rooms: MemoryRooms()}
	e.names.Prefix = fmt.Sprintf("pe%d", prefixes.Add(1))
	e.rdb, e.pub = newBroker(t, e.names)
	p, err := redisbroker.NewPrivacy(e.rdb, e.names, broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.privacy = p
	e.start(nil)
	goneTok := roomToken(t, "gone", time.Hour, false, "class7")
	gone, status := e.tryOpen(goneTok, "", "")
	if status != http.StatusOK {
		t.Fatalf("open: %d", status)
	}
	stays, status := e.tryOpen(roomToken(t, "stays", time.Hour, false, "class7"), "", "")
	if status != http.StatusOK {
		t.Fatalf("open: %d", status)
	}
	defer stays.close()
	sock, welcome := e.join("class7", goneTok, "")
	if welcome["op"] != "welcome" {
		t.Fatalf("welcome: %v", welcome)
	}
	if _, err := p.EraseUser(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	gone.ended(5 * time.Second)
	for {
		_, err := sock.read()
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatal("room socket still open 5 s after the erasure")
		}
		if err != nil {
			break // closed by the server
		}
	}
	stays.quiet(200 * time.Millisecond)
	if st, _ := e.as(goneTok, "GET", "/api/v1/notifications/export", ""); st != http.StatusOK {
		t.Errorf("export after erasure: %d", st) // the token still works; there is just nothing
	}
}
