package browser

import (
	"github.com/chromedp/chromedp"

	"testing"
	"time"
)

// Issue 16: read state lives on the server. Marking read on one device (a separate
// browser context: its own storage, its own stream) clears the badge on the other within
// a second, and in the other tabs of the first device through the leader's relay; a
// reload shows the server's state, not the browser's.
func TestReadSyncAcrossDevices(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	pub := newPublisher(t, redisAddr, 0)
	pub.send("reader", "video_complete", "history-0")
	pub.send("reader", "announcement", "history-1")
	url := sys.url() + "/demo/?user=reader"
	browser := newBrowser(t)
	laptop := openTab(t, browser, url)
	laptop2 := openTab(t, browser, url) // a second tab: a follower of the laptop's leader
	phone := openDevice(t, browser, url)
	for name, tb := range map[string]*tab{"laptop": laptop, "laptop tab 2": laptop2, "phone": phone} {
		tb.waitState(live, name+" open", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 2 })
		waitBadge(tb, live, name, 2) // the history's unread count
	}
	pub.send("reader", "video_failed", "live-0")
	for name, tb := range map[string]*tab{"laptop": laptop, "laptop tab 2": laptop2, "phone": phone} {
		waitBadge(tb, live, name+" after a new notification", 3)
	}

	// The phone reads one: the laptop's tabs follow.
	id := evalJS[string](phone, `(() => { const li = [...document.querySelectorAll("#list li")].find(li => li.dataset.title === "live-0"); li.querySelector("button.item").click(); return li.dataset.id; })()`)
	if got := badgeCount(phone); got != 2 {
		t.Errorf("phone badge %d right after marking one read, want 2", got)
	}
	for name, tb := range map[string]*tab{"laptop": laptop, "laptop tab 2": laptop2} {
		took := waitBadge(tb, live, name+" after the phone read one", 2)
		t.Logf("%s: read on the phone → badge updated in %v", name, took)
		if took > time.Second {
			t.Errorf("%s: badge took %v, want within 1 s", name, took)
		}
		if cls := evalJS[string](tb, `document.querySelector('#list li[data-id="`+id+`"]').className`); cls != "read" {
			t.Errorf("%s: the read notification's class %q", name, cls)
		}
	}

	// The laptop's follower tab marks all read: the phone and the leader follow.
	evalJS[bool](laptop2, `(document.getElementById("mark-all").click(), true)`)
	for name, tb := range map[string]*tab{"phone": phone, "laptop": laptop} {
		took := waitBadge(tb, live, name+" after mark all", 0)
		t.Logf("%s: mark all read in another tab → badge cleared in %v", name, took)
		if took > time.Second {
			t.Errorf("%s: badge took %v, want within 1 s", name, took)
		}
	}

	// The server keeps it: a reload on the phone (and the API) says nothing is unread.
	var hist struct {
		Unread        int
		Notifications []struct {
			ID   string
			Read bool
		}
	}
	if code := apiJSON(t, sys, "reader", "GET", "", "", &hist); code != 200 || hist.Unread != 0 || len(hist.Notifications) != 3 {
		t.Errorf("history after mark all: HTTP %d, unread %d, %d items", code, hist.Unread, len(hist.Notifications))
	}
	phone.do(chromedp.Reload())
	phone.waitState(live, "phone reloaded", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 3 })
	if n := badgeCount(phone); n != 0 {
		t.Errorf("phone after reload: badge %d, want 0", n)
	}
	if n := evalJS[int](phone, `document.querySelectorAll("#list li.unread").length`); n != 0 {
		t.Errorf("phone after reload: %d items shown unread", n)
	}
	// Another student's read state is their own.
	pub.send("other", "video_complete", "others")
	var other struct{ Unread int }
	apiJSON(t, sys, "other", "GET", "", "", &other)
	if other.Unread != 1 {
		t.Errorf("another student's unread %d, want 1", other.Unread)
	}
}
