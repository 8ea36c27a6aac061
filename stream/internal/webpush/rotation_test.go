package webpush

import (
	"context"
	"testing"
	"time"
)

// TestRotationSignsWithTheSubscriptionsKey: after a rotation, a subscription made with
// the previous key is still signed with it (push services refuse any other), one made
// with the new key or naming none uses the new key, and one made with a key that is
// no longer configured is removed without a request.
func TestRotationSignsWithTheSubscriptionsKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	old := e.cfg
	e.cfg.PublicKey, e.cfg.PrivateKey = pair(t)
	e.cfg.PreviousPublicKey, e.cfg.PreviousPrivateKey = old.PublicKey, old.PrivateKey
	w := e.newWorker(e.worker.opts)
	retired, _ := pair(t)
	ctx := context.Background()
	for user, key := range map[string]string{"u-old": old.PublicKey, "u-new": e.cfg.PublicKey, "u-legacy": "", "u-retired": retired} {
		bound := key
		if bound == "" {
			bound = e.cfg.PublicKey
		}
		s := fromStandIn(e.ps.Subscribe("/sub/"+user, bound))
		s.PublicKey = key
		if err := e.store.Add(ctx, user, s); err != nil {
			t.Fatal(err)
		}
	}
	e.run(w)
	for _, u := range []string{"u-old", "u-new", "u-legacy", "u-retired"} {
		e.enqueue(u, "1-0", "video_complete")
	}
	want := map[string]string{"/sub/u-old": old.PublicKey, "/sub/u-new": e.cfg.PublicKey, "/sub/u-legacy": e.cfg.PublicKey}
	for range want {
		got, ok := e.ps.Next(5 * time.Second)
		if !ok {
			t.Fatal("missing push")
		}
		if got.VAPIDKey != want[got.Path] {
			t.Errorf("%s signed with %.12s…, want %.12s…", got.Path, got.VAPIDKey, want[got.Path])
		}
	}
	e.waitHandled(w, 4)
	if n := len(e.ps.Attempts("/sub/u-retired")); n != 0 {
		t.Errorf("%d requests for a subscription under a retired key", n)
	}
	if subs, _ := e.store.List(ctx, "u-retired"); len(subs) != 0 {
		t.Errorf("subscription under a retired key kept: %v", subs)
	}
	if s := w.Stats(); s.Sent != 3 || s.SentPreviousKey != 1 || s.Gone != 1 {
		t.Errorf("stats %+v", s)
	}
}
