package browser

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Helpers of the read-state, preferences, grouping, push and accessibility tests.

// openDevice opens url in a new browser context of browser: its own storage, cookies,
// service workers and tab group, as a second device of the same student would be.
func openDevice(t *testing.T, browser context.Context, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx, cancel: cancel}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in a new browser context: %v", url, err)
	}
	t.Cleanup(tb.close)
	return tb
}

// badgeCount is the number on the demo's bell (0 when the badge is hidden).
func badgeCount(tb *tab) int {
	tb.t.Helper()
	return evalJS[int](tb, `(() => { const b = document.getElementById("badge"); return b.hidden ? 0 : Number(b.textContent); })()`)
}

func waitBadge(tb *tab, timeout time.Duration, who string, want int) time.Duration {
	tb.t.Helper()
	start := time.Now()
	waitFor(tb.t, timeout, who+" badge "+strconv.Itoa(want), func() bool { return badgeCount(tb) == want })
	return time.Since(start)
}

// evalAsync evaluates js (a promise) in the tab, as a user gesture, and decodes its value.
func evalAsync[T any](tb *tab, js string) T {
	tb.t.Helper()
	gesture := func(p *runtime.EvaluateParams) { v := true; p.UserGesture = &v }
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise, gesture))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// apiJSON calls the stream service's API as user and decodes the answer into v (if any).
func apiJSON(t *testing.T, sys *local, user, method, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, sys.url()+"/api/v1/notifications"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sys.token(user))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil && res.StatusCode/100 == 2 && res.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode
}
