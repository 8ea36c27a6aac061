package browser

import (
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// page is a tab in either browser: the Chromium tab and the Firefox ffTab both read the
// demo's and the app's state, so a student flow is written once and run in both.
type page interface {
	state() pageState
	waitState(timeout time.Duration, what string, cond func(pageState) bool) pageState
	app() appState
	waitApp(timeout time.Duration, what string, cond func(appState) bool) appState
	run(js string)               // evaluates js for its effect
	evalString(js string) string // evaluates js to a string
	evalBool(js string) bool     // evaluates js (a promise is awaited) to a bool
	reload()
	close()
}

func (tb *tab) run(js string)   { evalJS[any](tb, js) }
func (ft *ffTab) run(js string) { ft.eval(js, nil) }

func (tb *tab) evalString(js string) string   { return evalJS[string](tb, js) }
func (ft *ffTab) evalString(js string) string { return ffEval[string](ft, js) }

func (tb *tab) evalBool(js string) bool {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}
func (ft *ffTab) evalBool(js string) bool { return ffEval[bool](ft, js) } // Firefox awaits promises

func (tb *tab) reload() { tb.do(chromedp.Reload()) }

// flowTabsShareOneConnection: three tabs of one student hold one stream; when the
// leader closes while notifications are published, the survivors show everything once
// and one of them leads. It returns how long after the close the survivors were
// caught up.
func flowTabsShareOneConnection(t *testing.T, sys *local, open func(url string) page) time.Duration {
	t.Helper()
	url := sys.url() + "/demo/?user=tabby"
	tabs := []page{open(url), open(url), open(url)}
	for _, tb := range tabs {
		tb.waitState(live, "tab open", func(s pageState) bool { return s.Status.State == "open" })
	}
	waitFor(t, live, "one stream", func() bool { return sys.activeStreams() == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := sys.activeStreams(); n != 1 {
		t.Fatalf("3 tabs hold %d streams on the server, want 1", n)
	}

	sys.publish("tabby", "tabs-000", "completed")
	leader := -1
	for i, tb := range tabs {
		s := tb.waitState(live, "toast in every tab", func(s pageState) bool { return len(s.Toasts) == 1 })
		if s.Status.Role == "leader" {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no tab reports itself leader")
	}

	// Close the leader while publishing; the survivors must see everything once.
	want := titlesN("tabs", 0, 31)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, title := range want[1:] {
			sys.publish("tabby", title, "completed")
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	closed := time.Now()
	tabs[leader].close()
	wg.Wait()
	var survivors []page
	for i, tb := range tabs {
		if i != leader {
			survivors = append(survivors, tb)
		}
	}
	for i, tb := range survivors {
		tb.waitState(live, "survivor caught up", func(s pageState) bool { return len(s.List) >= len(want) })
		time.Sleep(200 * time.Millisecond)
		s := tb.state()
		checkList(t, "survivor "+string(rune('A'+i)), s, want)
		if len(s.Toasts) != len(want) {
			t.Errorf("survivor %c toasted %d of %d", 'A'+i, len(s.Toasts), len(want))
		}
	}
	caughtUp := time.Since(closed)
	waitFor(t, live, "one stream after the hand-over", func() bool { return sys.activeStreams() == 1 })
	roles := 0
	for _, tb := range survivors {
		if tb.state().Status.Role == "leader" {
			roles++
		}
	}
	if roles != 1 {
		t.Errorf("%d leaders among the surviving tabs, want 1", roles)
	}
	return caughtUp
}

// flowTwoStudentsOneBrowser (issue 18 #1): two students in one browser (a shared school
// computer, or an app that keeps the JWT per tab) each see only their own
// notifications, each over their own stream; a tab whose student changes follows the
// new student.
func flowTwoStudentsOneBrowser(t *testing.T, redisAddr string, sys *local, open func(url string) page) {
	t.Helper()
	app := startApp(t, sys)
	pub := newPublisher(t, redisAddr, 0)
	opts := map[string]any{"userCheckMs": 300}

	alice := open(app.page("alice", opts))
	alice.waitApp(live, "alice's tab open", isOpen)
	bob := open(app.page("bob", opts))
	bob.waitApp(live, "bob's tab open", isOpen)
	pub.send("alice", "video_complete", "for-alice")
	pub.send("bob", "video_complete", "for-bob")
	alice.waitApp(live, "alice's notification", func(s appState) bool { return len(s.Toasts) >= 1 })
	bob.waitApp(live, "bob's notification", func(s appState) bool { return len(s.Toasts) >= 1 })
	time.Sleep(300 * time.Millisecond) // let a stray one arrive
	checkItems(t, "alice's tab", alice.app(), []string{"for-alice"})
	checkItems(t, "bob's tab", bob.app(), []string{"for-bob"})
	waitFor(t, live, "one stream per student", func() bool { return sys.activeStreams() == 2 })

	// A third tab signed in as alice; then bob signs in there (getToken now returns bob's).
	third := open(app.page("alice", opts))
	third.waitApp(live, "third tab open", isOpen)
	third.run(`app.auth.user = "bob"`)
	third.waitApp(live, "third tab shows bob's list", func(s appState) bool {
		return s.SetItems >= 2 && isOpen(s) && hasTitles("for-bob")(s)
	})
	pub.send("alice", "video_complete", "alice-2")
	pub.send("bob", "video_complete", "bob-2")
	third.waitApp(live, "bob-2 in the third tab", hasTitles("bob-2"))
	bob.waitApp(live, "bob-2 in bob's tab", hasTitles("bob-2"))
	alice.waitApp(live, "alice-2 in alice's tab", hasTitles("alice-2"))
	time.Sleep(300 * time.Millisecond)
	checkItems(t, "third tab (now bob)", third.app(), []string{"for-bob", "bob-2"})
	checkItems(t, "alice's tab", alice.app(), []string{"for-alice", "alice-2"})
	checkItems(t, "bob's tab", bob.app(), []string{"for-bob", "bob-2"})
	if n := sys.activeStreams(); n != 2 {
		t.Errorf("%d streams for two students in three tabs, want 2", n)
	}
}
