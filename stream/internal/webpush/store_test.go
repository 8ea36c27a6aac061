package webpush

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// validSub returns a well-formed subscription at endpoint with fresh browser keys.
func validSub(t testing.TB, endpoint string) Subscription {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return Subscription{Endpoint: endpoint, Keys: SubKeys{P256dh: b64(priv.PublicKey().Bytes()), Auth: b64(auth)}}
}

// TestStoreContract runs the same cases against both stores.
func TestStoreContract(t *testing.T) {
	t.Parallel()
	rdb, names := newRedis(t)
	for name, newStore := range map[string]func(allowLoopback bool) Store{
		"memory": func(l bool) Store { return NewMemoryStore(l) },
		"redis":  func(l bool) Store { return NewRedisStore(rdb, names, l) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newStore(false)
			user := "u-" + name
			ep := func(i int) string { return fmt.Sprintf("https://fcm.googleapis.com/fcm/send/%s-%d", name, i) }
			first := validSub(t, ep(0))
			if err := s.Add(ctx, user, first); err != nil {
				t.Fatal(err)
			}
			// The browser re-subscribes at the same endpoint with new keys: replaced.
			renewed := validSub(t, ep(0))
			if err := s.Add(ctx, user, renewed); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.List(ctx, user); len(got) != 1 || got[0] != renewed {
				t.Fatalf("after re-subscribing: %v, want only the renewed one", got)
			}
			for i := 1; i < MaxSubscriptions; i++ {
				if err := s.Add(ctx, user, validSub(t, ep(i))); err != nil {
					t.Fatalf("subscription %d: %v", i+1, err)
				}
			}
			if err := s.Add(ctx, user, validSub(t, ep(99))); !errors.Is(err, ErrTooManySubscriptions) {
				t.Fatalf("11th subscription: %v, want ErrTooManySubscriptions", err)
			}
			if err := s.Add(ctx, user, validSub(t, ep(3))); err != nil {
				t.Fatalf("replacing one at the cap: %v", err)
			}
			if err := s.Remove(ctx, user, ep(3)); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(ctx, user, "https://push.example/never-added"); err != nil {
				t.Fatalf("removing an unknown endpoint: %v", err)
			}
			if err := s.Add(ctx, user, validSub(t, ep(99))); err != nil {
				t.Fatalf("adding after a removal: %v", err)
			}
			if got, _ := s.List(ctx, user); len(got) != MaxSubscriptions {
				t.Fatalf("%d subscriptions, want %d", len(got), MaxSubscriptions)
			}
			if got, _ := s.List(ctx, "u-nobody"); len(got) != 0 {
				t.Fatalf("a user without subscriptions has %v", got)
			}
			for _, bad := range invalidSubs(t) {
				if err := s.Add(ctx, "u-bad", bad.sub); !errors.Is(err, ErrInvalidSubscription) {
					t.Errorf("%s: %v, want ErrInvalidSubscription", bad.name, err)
				} else if strings.Contains(err.Error(), "secret-token") {
					t.Errorf("%s: error repeats the endpoint: %v", bad.name, err)
				}
			}
			loop := newStore(true)
			if err := loop.Add(ctx, "u-loop", validSub(t, "http://127.0.0.1:8099/push/1")); err != nil {
				t.Errorf("loopback with PUSH_ALLOW_LOOPBACK: %v", err)
			}
			for _, e := range []string{"http://127.0.0.1/x", "http://localhost:8099/x", "http://10.0.0.1:80/x"} {
				if err := loop.Add(ctx, "u-loop", validSub(t, e)); !errors.Is(err, ErrInvalidSubscription) {
					t.Errorf("%s with loopback allowed: %v", e, err)
				}
			}
		})
	}
}

type badSub struct {
	name string
	sub  Subscription
}

func invalidSubs(t testing.TB) []badSub {
	good := validSub(t, "https://fcm.googleapis.com/fcm/send/secret-token")
	with := func(f func(*Subscription)) Subscription { s := good; f(&s); return s }
	ep := func(e string) Subscription { return with(func(s *Subscription) { s.Endpoint = e }) }
	uncompressed := mustB64(t, good.Keys.P256dh)
	offCurve := append([]byte(nil), uncompressed...)
	offCurve[64] ^= 1
	return []badSub{
		{"http endpoint", ep("http://fcm.googleapis.com/fcm/send/secret-token")},
		{"loopback not allowed", ep("http://127.0.0.1:8099/secret-token")},
		{"ip literal", ep("https://10.1.2.3/secret-token")},
		{"localhost", ep("https://localhost/secret-token")},
		{"metadata name", ep("https://metadata/secret-token")},
		{"credentials", ep("https://user:pw@fcm.googleapis.com/secret-token")},
		{"relative", ep("/fcm/send/secret-token")},
		{"empty", ep("")},
		{"too long", ep("https://fcm.googleapis.com/" + strings.Repeat("a", 2100))},
		{"p256dh compressed", with(func(s *Subscription) { s.Keys.P256dh = b64(uncompressed[:33]) })},
		{"p256dh off curve", with(func(s *Subscription) { s.Keys.P256dh = b64(offCurve) })},
		{"p256dh not base64", with(func(s *Subscription) { s.Keys.P256dh = "!!!" })},
		{"auth 15 bytes", with(func(s *Subscription) { s.Keys.Auth = b64(make([]byte, 15)) })},
		{"auth missing", with(func(s *Subscription) { s.Keys.Auth = "" })},
	}
}

func TestRedisStoreRenewsTTL(t *testing.T) {
	t.Parallel()
	rdb, names := newRedis(t)
	ctx := context.Background()
	s := NewRedisStore(rdb, names, false)
	if err := s.Add(ctx, "u-1", validSub(t, "https://fcm.googleapis.com/fcm/send/1")); err != nil {
		t.Fatal(err)
	}
	key := names.PushSubscriptions("u-1")
	if key != names.Prefix+":{u-1}:push" {
		t.Errorf("key %q", key)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl < SubscriptionTTL-time.Minute {
		t.Errorf("TTL after Add %v, want about %v", ttl, SubscriptionTTL)
	}
	rdb.PExpire(ctx, key, time.Hour)
	if _, err := s.List(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl < SubscriptionTTL-time.Minute {
		t.Errorf("TTL after List %v: using the subscriptions must renew it", ttl)
	}
	// Padded base64url (as some tools print it) is accepted too.
	sub := validSub(t, "https://updates.push.services.mozilla.com/wpush/v2/x")
	sub.Keys.Auth += "=="
	if err := s.Add(ctx, "u-1", sub); err != nil {
		t.Errorf("padded auth: %v", err)
	}
}
