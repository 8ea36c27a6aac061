package admin

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestServesProfilesOnItsOwnAddress(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	stop, err := Start(addr, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("status %d: %.100s", res.StatusCode, body)
	}
	stop() // returns once the server's goroutine has
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("admin port still serving after stop")
	}
}

func TestOffWithoutAddress(t *testing.T) {
	stop, err := Start("", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	stop()
}
