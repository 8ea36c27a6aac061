package browser

import (
	"strconv"
	"testing"
	"time"
)

// ffBadge is badgeCount for a Firefox tab.
func ffBadge(ft *ffTab) int {
	ft.t.Helper()
	return ffEval[int](ft, `(() => { const b = document.getElementById("badge"); return b.hidden ? 0 : Number(b.textContent); })()`)
}

func ffWaitBadge(ft *ffTab, timeout time.Duration, who string, want int) time.Duration {
	ft.t.Helper()
	start := time.Now()
	waitFor(ft.t, timeout, who+" badge "+strconv.Itoa(want), func() bool { return ffBadge(ft) == want })
	return time.Since(start)
}

// TestFirefoxReadSyncAcrossDevices is TestReadSyncAcrossDevices in Firefox: a laptop
// (two tabs of one user context: a leader and a follower) and a phone (another user
// context: its own storage, locks and channels). Marking read on one clears the badge
// on the others within a second, and the server keeps it.
func TestFirefoxReadSyncAcrossDevices(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	pub := newPublisher(t, redisAddr, 0)
	pub.send("ffreader", "video_complete", "history-0")
	pub.send("ffreader", "announcement", "history-1")
	url := sys.url() + "/demo/?user=ffreader"
	laptopDevice, phoneDevice := newFirefox(t), newFirefox(t)
	laptop := openFirefoxTab(t, laptopDevice, url)
	laptop2 := openFirefoxTab(t, laptopDevice, url)
	phone := openFirefoxTab(t, phoneDevice, url)
	tabs := map[string]*ffTab{"laptop": laptop, "laptop tab 2": laptop2, "phone": phone}
	for name, ft := range tabs {
		ft.waitState(live, name+" open", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 2 })
		ffWaitBadge(ft, live, name, 2)
	}
	pub.send("ffreader", "video_failed", "live-0")
	for name, ft := range tabs {
		ffWaitBadge(ft, live, name+" after a new notification", 3)
	}

	// The phone reads one: the laptop's tabs follow.
	ffEval[string](phone, `(() => { const li = [...document.querySelectorAll("#list li")].find(li => li.dataset.title === "live-0"); li.querySelector("button.item").click(); return li.dataset.id; })()`)
	for _, name := range []string{"laptop", "laptop tab 2"} {
		took := ffWaitBadge(tabs[name], live, name+" after the phone read one", 2)
		t.Logf("Firefox %s: read on the phone → badge updated in %v", name, took)
		if took > time.Second {
			t.Errorf("%s: badge took %v, want within 1 s", name, took)
		}
	}

	// The laptop's follower tab marks all read: the phone and the leader follow.
	ffEval[bool](laptop2, `(document.getElementById("mark-all").click(), true)`)
	for _, name := range []string{"phone", "laptop"} {
		took := ffWaitBadge(tabs[name], live, name+" after mark all", 0)
		t.Logf("Firefox %s: mark all read in another tab → badge cleared in %v", name, took)
		if took > time.Second {
			t.Errorf("%s: badge took %v, want within 1 s", name, took)
		}
	}
	var hist struct{ Unread int }
	if code := apiJSON(t, sys, "ffreader", "GET", "", "", &hist); code != 200 || hist.Unread != 0 {
		t.Errorf("history after mark all: HTTP %d, unread %d", code, hist.Unread)
	}
	phone.reload()
	phone.waitState(live, "phone reloaded", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 3 })
	if n := ffBadge(phone); n != 0 {
		t.Errorf("phone after reload: badge %d, want 0", n)
	}
}
