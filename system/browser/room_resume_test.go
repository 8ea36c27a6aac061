package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"
)

// Issue 27: rooms.js reconnects and resumes. The room page is open while bin/local is
// SIGKILLed and started again; the page's reconnect is held (its token request waits)
// while 60 questions are sent — more than a welcome's 50 recent messages, so only a
// resume with ?after=<last id> brings them all — and a question asked on the page while
// it is down waits for the new socket. The page ends with every question once, in
// order, and its socket open again.
func TestRoomResumesAfterServerCrash(t *testing.T) {
	sys := startLocal(t, newRedis(t))
	page := openTab(t, newBrowser(t), sys.url()+"/demo/room.html?room=class-r&user=kim")
	waitMembers(t, "Chromium student", page, "kim")
	teacher := dialRoom(t, sys, "class-r", "ms-t")
	want := []string{"ms-t: before-1", "ms-t: before-2"}
	teacher.ask(t, "before-1")
	teacher.ask(t, "before-2")
	waitQuestions(t, page, want...)
	lastID := page.evalString(`window.vividlyRoomHandle.lastId`)

	// Hold the page's next token request (each socket opens with a fresh ticket).
	page.run(`(() => {
		window.holdTokens = new Promise(r => { window.releaseTokens = r; });
		const f = window.fetch;
		window.fetch = async (...a) => { if (String(a[0]).includes("dev-token")) await window.holdTokens; return f(...a); };
	})()`)
	sys.kill()
	waitFor(t, live, "the page reconnecting", func() bool {
		return page.evalString(`window.vividlyRoom.status`) == "reconnecting"
	})
	page.run(`(() => { document.getElementById("ask").value = "asked while down"; document.getElementById("ask-form").requestSubmit(); })()`)
	sys.start()
	for u := range 6 { // six teachers: each stays within 10 messages (the burst)
		w := dialRoom(t, sys, "class-r", fmt.Sprint("t-", u))
		for i := range 10 {
			text := fmt.Sprintf("gap-%d-%d", u, i)
			w.ask(t, text)
			want = append(want, fmt.Sprintf("t-%d: %s", u, text))
		}
	}
	page.run(`window.releaseTokens()`)
	want = append(want, "kim: asked while down")
	got := waitQuestionSet(t, page, want)
	if !slices.Equal(got, want) {
		t.Errorf("questions out of order:\n got %q\nwant %q", got, want)
	}
	if page.evalString(`window.vividlyRoom.status`) != "open" {
		t.Error("the page's socket is not open again")
	}
	t.Logf("resumed after %s: %d questions, each once, in order", lastID, len(got))
}

// roomWS is a plain WebSocket member of a room (a teacher's token from the dev helper).
type roomWS struct {
	c *websocket.Conn
}

func dialRoom(t *testing.T, sys *local, room, user string) *roomWS {
	t.Helper()
	var tok struct{ Token string }
	getJSON(t, sys.url()+"/demo/dev-token?user="+user+"&groups="+room+"&roles=teacher", &tok)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(sys.url(), "http", "ws", 1)+"/api/v1/rooms/"+room+"/ws",
		&websocket.DialOptions{Subprotocols: []string{"vividly.rooms.v1"}, HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &roomWS{c: c}
}

// ask sends text and waits for its echo: then it is stored.
func (w *roomWS) ask(t *testing.T, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, _ := json.Marshal(map[string]string{"op": "send", "text": text, "client_id": text})
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := w.c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the echo of %q: %v", text, err)
		}
		var f struct {
			ClientID string `json:"client_id"`
		}
		if json.Unmarshal(data, &f) == nil && f.ClientID == text {
			return
		}
	}
}

// pageQuestions lists the page's questions as "user: text", in order.
func pageQuestions(p page) []string {
	var out []string
	_ = json.Unmarshal([]byte(p.evalString(`JSON.stringify(window.vividlyRoom.questions.map(q => q.user + ": " + q.text))`)), &out)
	return out
}

// waitQuestions waits until the page shows exactly want, in order.
func waitQuestions(t *testing.T, p page, want ...string) {
	t.Helper()
	var got []string
	waitFor(t, live, fmt.Sprintf("questions %q", want), func() bool {
		got = pageQuestions(p)
		return strings.Join(got, "|") == strings.Join(want, "|")
	})
}

// waitQuestionSet waits until the page shows each of want exactly once (the question
// asked while down may come before or after the teacher's later ones) and nothing else.
func waitQuestionSet(t *testing.T, p page, want []string) []string {
	t.Helper()
	var got []string
	waitFor(t, 30*time.Second, fmt.Sprintf("questions %q", want), func() bool {
		got = pageQuestions(p)
		seen := map[string]int{}
		for _, q := range got {
			seen[q]++
		}
		for _, w := range want {
			if seen[w] != 1 {
				return false
			}
		}
		return len(got) == len(want)
	})
	return got
}

// Issue 27: a resume the server cannot serve (the room's kept messages are gone while
// the page is away) comes back as a welcome with "reset": rooms.js replaces the list
// (onMessages) with what the room keeps, and takes its position from there: a question
// sent after it shows, once.
func TestRoomResetReplacesTheList(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	page := openTab(t, newBrowser(t), sys.url()+"/demo/room.html?room=class-z&user=kim")
	waitMembers(t, "Chromium student", page, "kim")
	teacher := dialRoom(t, sys, "class-z", "ms-t")
	teacher.ask(t, "old-1")
	teacher.ask(t, "old-2")
	waitQuestions(t, page, "ms-t: old-1", "ms-t: old-2")

	sys.kill()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*{#room:class-z}:msgs").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("the room's message stream: %v %v", keys, err)
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	sys.start()
	waitFor(t, live, "the page open again", func() bool { return page.evalString(`window.vividlyRoom.status`) == "open" })
	waitQuestions(t, page) // replaced by the room's (empty) list
	teacher = dialRoom(t, sys, "class-z", "ms-t")
	teacher.ask(t, "new-1")
	waitQuestions(t, page, "ms-t: new-1")
}
