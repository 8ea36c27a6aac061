package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// TestPushKeyRotation follows docs/RUNBOOK.md "Rotating the VAPID keys" through real
// servers: a subscription made under the old key keeps receiving pushes signed with
// the old key after the rotation, new ones use the new key, and once the old key is
// retired its subscriptions are removed instead of being refused forever.
func TestPushKeyRotation(t *testing.T) {
	t.Parallel()
	// A short coalescing window: each step's push is a user's first in its window.
	p := newPushEnv(t, func(c *Config) { c.Push.Window = 200 * time.Millisecond })
	oldPub, oldPriv := p.cfg.Push.PublicKey, p.cfg.Push.PrivateKey
	p.subscribe("u-before", "/sub/before", oldPub, "") // no public_key: the current one is recorded

	// Step 1 of the rotation: the new pair becomes current, the old one previous.
	p.shutdown()
	newPub, newPriv := vapidPair(t)
	p.cfg.Push.PublicKey, p.cfg.Push.PrivateKey = newPub, newPriv
	p.cfg.Push.PreviousPublicKey, p.cfg.Push.PreviousPrivateKey = oldPub, oldPriv
	p.startPush()
	if code, body := p.call(http.MethodGet, "/api/v1/notifications/push/key", "", ""); code != http.StatusOK || !strings.Contains(body, newPub) {
		t.Fatalf("key after rotation: %d %s, want the new key", code, body)
	}
	p.subscribe("u-after", "/sub/after", newPub, `,"public_key":"`+newPub+`"`)
	// A page that fetched the key just before the rotation subscribes with the old one.
	code, body := p.call(http.MethodPost, subsPath, "u-late", subJSON(p.ps.Subscribe("/sub/late", oldPub), `,"public_key":"`+oldPub+`="`))
	if code != http.StatusCreated || !strings.Contains(body, oldPub) {
		t.Fatalf("subscription naming the previous key: %d %s, want 201 recording it", code, body)
	}
	for _, u := range []string{"u-before", "u-after", "u-late"} {
		p.enqueue(u)
	}
	want := map[string]string{"/sub/before": oldPub, "/sub/after": newPub, "/sub/late": oldPub}
	for range want {
		got, ok := p.ps.Next(5 * time.Second)
		if !ok {
			t.Fatal("missing push after the rotation")
		}
		if got.VAPIDKey != want[got.Path] {
			t.Errorf("%s signed with k=%.12s…, want %.12s…", got.Path, got.VAPIDKey, want[got.Path])
		}
	}
	p.waitStats("three handled", func(s webpush.Stats) bool { return s.Handled == 3 })
	if line := p.metric("push_sent_previous_key_total"); line != "push_sent_previous_key_total 2" {
		t.Errorf("metric %q, want 2 pushes under the previous key", line)
	}
	if !strings.Contains(p.logs.String(), `"VAPID_PREVIOUS_PRIVATE_KEY":"[redacted]"`) ||
		strings.Contains(p.logs.String(), string(oldPriv)) || strings.Contains(p.logs.String(), string(newPriv)) {
		t.Error("start-up log shows a VAPID private key")
	}

	// Step 3: the previous pair is dropped. What was still made with it can never be
	// delivered again: removed, without a request.
	p.shutdown()
	p.cfg.Push.PreviousPublicKey, p.cfg.Push.PreviousPrivateKey = "", config.Secret("")
	p.startPush()
	p.enqueue("u-before")
	p.enqueue("u-after")
	if got, ok := p.ps.Next(5 * time.Second); !ok || got.Path != "/sub/after" || got.VAPIDKey != newPub {
		t.Fatalf("push after the previous key was dropped: %v %s", ok, got.Path)
	}
	p.waitStats("both handled", func(s webpush.Stats) bool { return s.Handled == 2 && s.Gone == 1 })
	if n := len(p.ps.Attempts("/sub/before")); n != 1 {
		t.Errorf("%d requests to the old subscription, want only the one before the key was dropped", n)
	}
	if subs, _ := webpush.NewRedisStore(p.rdb, p.names, true).List(context.Background(), "u-before"); len(subs) != 0 {
		t.Errorf("subscription under the retired key kept: %v", subs)
	}
}

// TestPushConfig: push is off with no VAPID variable, a partial configuration fails
// with an error naming what is missing (never echoing a key), and the private keys
// are redacted wherever the configuration is logged.
func TestPushConfig(t *testing.T) {
	t.Parallel()
	pub, priv := vapidPair(t)
	base := map[string]string{"JWT_SECRET": secret}
	load := func(extra map[string]string) (Config, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return LoadConfig(context.Background(), func(k string) string { return env[k] })
	}
	if c, err := load(nil); err != nil || c.Push.Enabled() {
		t.Fatalf("no VAPID variables: %v, enabled %v; want push off", err, c.Push.Enabled())
	}
	full := map[string]string{"VAPID_PUBLIC_KEY": pub, "VAPID_PRIVATE_KEY": string(priv), "VAPID_SUBJECT": pushSubject}
	c, err := load(full)
	if err != nil || !c.Push.Enabled() || c.Push.TTL != 24*time.Hour || c.Push.Window != time.Minute || c.Push.Concurrency != 256 || c.Push.AllowLoopback {
		t.Fatalf("full configuration: %v %+v", err, c.Push)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"public key only":   {map[string]string{"VAPID_PUBLIC_KEY": pub}, "VAPID_PRIVATE_KEY"},
		"private key only":  {map[string]string{"VAPID_PRIVATE_KEY": string(priv)}, "VAPID_PUBLIC_KEY"},
		"subject only":      {map[string]string{"VAPID_SUBJECT": pushSubject}, "VAPID_PUBLIC_KEY"},
		"no subject":        {map[string]string{"VAPID_PUBLIC_KEY": pub, "VAPID_PRIVATE_KEY": string(priv)}, "VAPID_SUBJECT"},
		"keys of two pairs": {map[string]string{"VAPID_PUBLIC_KEY": pub, "VAPID_PRIVATE_KEY": string(otherPriv(t)), "VAPID_SUBJECT": pushSubject}, "does not belong"},
		"previous half":     {with(full, "VAPID_PREVIOUS_PUBLIC_KEY", pub), "VAPID_PREVIOUS_PRIVATE_KEY"},
		"ttl too short":     {with(full, "PUSH_TTL", "30m"), "PUSH_TTL"},
		"ttl malformed":     {with(full, "PUSH_TTL", "a day"), "PUSH_TTL"},
		"concurrency zero":  {with(full, "PUSH_CONCURRENCY", "0"), "PUSH_CONCURRENCY"},
		"loopback bad bool": {with(full, "PUSH_ALLOW_LOOPBACK", "sometimes"), "PUSH_ALLOW_LOOPBACK"},
	} {
		_, err := load(tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.want)
		} else if strings.Contains(err.Error(), string(priv)) {
			t.Errorf("%s: error echoes the private key: %v", name, err)
		}
	}
	var logged syncBuffer // as Build logs it
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("stream service configured", "config", slog.AnyValue(c))
	if l := logged.String(); strings.Contains(l, string(priv)) || !strings.Contains(l, `"VAPID_PRIVATE_KEY":"[redacted]"`) || !strings.Contains(l, pub) {
		t.Errorf("start-up log: %s", l)
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for k2, v2 := range m {
		if k2 != k {
			out[k2] = v2
		}
	}
	return out
}

func otherPriv(t *testing.T) config.Secret {
	_, priv := vapidPair(t)
	return priv
}
