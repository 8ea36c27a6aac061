package bidi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// User contexts stand for separate devices or students: what the notification
// client shares between tabs (storage, BroadcastChannel, Web Locks) must be shared
// within one and never across two.

func TestUserContextsDoNotShareStorage(t *testing.T) {
	t.Parallel()
	b := sharedBrowser(t)
	srv := testServer(t)
	laptop, phone := newUserContext(t, b), newUserContext(t, b)
	laptop1 := open(t, b, laptop, srv.URL)
	laptop2 := open(t, b, laptop, srv.URL)
	phone1 := open(t, b, phone, srv.URL)
	plain := open(t, b, "", srv.URL)

	ctx := testContext(t)
	if err := laptop1.Eval(ctx, `(localStorage.setItem("read", "1-0"), document.cookie = "sid=laptop", true)`, nil); err != nil {
		t.Fatal(err)
	}
	const read = `[localStorage.getItem("read"), document.cookie]`
	cases := []struct {
		name string
		tab  *Tab
		want []any
	}{
		{"another tab of the same user context shares it", laptop2, []any{"1-0", "sid=laptop"}},
		{"another user context does not", phone1, []any{nil, ""}},
		{"nor does the default one", plain, []any{nil, ""}},
	}
	for _, tc := range cases {
		var got []any
		if err := tc.tab.Eval(ctx, read, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestBroadcastChannelBetweenTabs(t *testing.T) {
	t.Parallel()
	b := sharedBrowser(t)
	srv := testServer(t)
	alice, bob := newUserContext(t, b), newUserContext(t, b)
	sender := open(t, b, alice, srv.URL)
	follower := open(t, b, alice, srv.URL)
	otherDevice := open(t, b, bob, srv.URL)
	otherSender := open(t, b, bob, srv.URL)

	ctx := testContext(t)
	const listen = `(window.got = [], window.bc = new BroadcastChannel("notifications"),
		window.bc.onmessage = (e) => window.got.push(e.data), true)`
	const post = `(window.bc = new BroadcastChannel("notifications"), window.bc.postMessage(%s), true)`
	for _, tab := range []*Tab{follower, otherDevice} {
		if err := tab.Eval(ctx, listen, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sender.Eval(ctx, strings.Replace(post, "%s", `{id: "1-0", from: "alice"}`, 1), nil); err != nil {
		t.Fatal(err)
	}
	got := func(tab *Tab) []any {
		var msgs []any
		if err := tab.Eval(ctx, `window.got`, &msgs); err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	waitFor(t, "the follower tab to get the message", func() bool { return len(got(follower)) > 0 })
	if diff := cmp.Diff([]any{map[string]any{"id": "1-0", "from": "alice"}}, got(follower)); diff != "" {
		t.Errorf("follower (-want +got):\n%s", diff)
	}
	// Bob's channel works, and by the time his own message arrives, alice's earlier
	// one would have too had it crossed user contexts.
	if err := otherSender.Eval(ctx, strings.Replace(post, "%s", `{from: "bob"}`, 1), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob's tab to get bob's message", func() bool { return len(got(otherDevice)) > 0 })
	if diff := cmp.Diff([]any{map[string]any{"from": "bob"}}, got(otherDevice)); diff != "" {
		t.Errorf("another user context's tab (-want +got):\n%s", diff)
	}
}

func TestWebLocksPerUserContext(t *testing.T) {
	t.Parallel()
	b := sharedBrowser(t)
	srv := testServer(t)
	alice, bob := newUserContext(t, b), newUserContext(t, b)
	leader := open(t, b, alice, srv.URL)
	follower := open(t, b, alice, srv.URL)
	otherDevice := open(t, b, bob, srv.URL)

	ctx := testContext(t)
	// The leader holds the lock for as long as its page lives.
	if err := leader.Eval(ctx, `new Promise((held) =>
		navigator.locks.request("notifications-leader", () => { held(true); return new Promise(() => {}); }))`, nil); err != nil {
		t.Fatal(err)
	}
	const available = `navigator.locks.request("notifications-leader", {ifAvailable: true}, (lock) => lock !== null)`
	for _, tc := range []struct {
		name string
		tab  *Tab
		want bool
	}{
		{"a tab of the same user context waits", follower, false},
		{"another user context has its own lock", otherDevice, true},
	} {
		var got bool
		if err := tc.tab.Eval(ctx, available, &got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: lock available = %v, want %v", tc.name, got, tc.want)
		}
	}
}
