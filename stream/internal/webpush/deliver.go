package webpush

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
)

// Presence reports whether a user has an open stream on any instance.
type Presence interface {
	Online(ctx context.Context, user string) (bool, error)
}

// PresenceFunc adapts a function to Presence.
type PresenceFunc func(ctx context.Context, user string) (bool, error)

// Online implements Presence.
func (f PresenceFunc) Online(ctx context.Context, user string) (bool, error) { return f(ctx, user) }

// PushPrefs is the part of a user's preferences push obeys. The zero value (nothing
// stored) means push on, nothing muted.
type PushPrefs struct {
	Off       bool     // "push": false
	Muted     []string // "muted_types": kept in history, not streamed, not pushed
	PushMuted []string // "push_muted_types": streamed, not pushed
	// Quiet, when set, holds pushes during the user's quiet hours; one summary goes
	// out when they end (quiet.go).
	Quiet *broker.QuietHours
}

// Preferences returns a user's push preferences.
type Preferences interface {
	PushPrefs(ctx context.Context, user string) (PushPrefs, error)
}

// PreferencesFunc adapts a function to Preferences.
type PreferencesFunc func(ctx context.Context, user string) (PushPrefs, error)

// PushPrefs implements Preferences.
func (f PreferencesFunc) PushPrefs(ctx context.Context, user string) (PushPrefs, error) {
	return f(ctx, user)
}

// job is an entry that is to be sent.
type job struct {
	user string
	log  *slog.Logger
	subs []Subscription
	msg  Message
	// FCM Worker only: the user's devices and the decided message.
	devices []fcm.Device
	mobile  fcm.Message
}

// decide runs the checks for one queue entry, in queue order per user: presence,
// preferences, subscriptions, the coalescing window. send reports a push to make now;
// otherwise done reports whether the entry is finished. It is not when Redis failed:
// the entry then stays pending and is reclaimed after ClaimIdle.
func (w *Worker) decide(hctx context.Context, m redis.XMessage) (j job, send, done bool) {
	if w.fcm != nil {
		return w.decideDelivery(hctx, m)
	}
	if send, done, ok := w.fanOut(hctx, m); ok {
		return j, send, done
	}
	e, err := parseEntry(m)
	if err != nil {
		w.stats.invalid.Add(1)
		w.log.Error("drop push queue entry", slog.String("entry_id", m.ID), slog.Any("error", err))
		return j, false, true
	}
	j.user, j.log = e.user, w.log.With(slog.String("user_id", e.user), slog.String("entry_id", e.id))
	if online, err := w.presence.Online(hctx, e.user); err != nil {
		j.log.Warn("push: presence", slog.Any("error", err))
		return j, false, false
	} else if online {
		w.stats.online.Add(1)
		return j, false, true
	}
	prefs, err := w.prefs.PushPrefs(hctx, e.user)
	if err != nil {
		j.log.Warn("push: preferences", slog.Any("error", err))
		return j, false, false
	}
	if prefs.Off {
		w.stats.prefs.Add(1)
		return j, false, true
	}
	if w.store != nil {
		if j.subs, err = w.store.List(hctx, e.user); err != nil {
			j.log.Warn("push: subscriptions", slog.Any("error", err))
			return j, false, false
		}
	}
	devices, err := w.hasDevices(hctx, e.user)
	if err != nil {
		j.log.Warn("push: devices", slog.Any("error", err))
		return j, false, false
	}
	if len(j.subs) == 0 && !devices {
		w.stats.noSubs.Add(1)
		return j, false, true
	}
	j.msg, send, done = w.prepare(hctx, j.log, e, prefs, devices)
	if send && devices && e.data == nil {
		// A summary: decided once for both senders, FCM gets its copy on its own
		// queue (a notification's was handed off by the window check itself).
		if err := w.handOff(hctx, e.user, j.msg); err != nil {
			j.log.Warn("push: hand off to fcm", slog.Any("error", err))
			return j, false, false
		}
	}
	if send && devices {
		w.stats.handedOff.Add(1)
	}
	if send && len(j.subs) == 0 {
		return j, false, true
	}
	return j, send, done
}

// deliver sends j to every subscription at once and reports whether the entry is
// finished: false only when shutdown interrupted a send. ctx ends at shutdown; hctx,
// for requests already started, Drain later.
func (w *Worker) deliver(ctx, hctx context.Context, j job) bool {
	var wg sync.WaitGroup
	var interrupted atomic.Bool
	for _, s := range j.subs {
		wg.Go(func() {
			if w.sendWithRetry(ctx, hctx, j.log, j.user, s, j.msg) != nil {
				interrupted.Store(true)
			}
		})
	}
	for _, d := range j.devices {
		wg.Go(func() {
			if w.sendFCMWithRetry(ctx, hctx, j.log, j.user, d, j.mobile) != nil {
				interrupted.Store(true)
			}
		})
	}
	wg.Wait()
	return !interrupted.Load()
}

// prepare builds the push for an entry. send is false when there is nothing to send
// now (held for the window, muted, expired, malformed: done; Redis failed: not done).
func (w *Worker) prepare(hctx context.Context, log *slog.Logger, e entry, prefs PushPrefs, devices bool) (msg Message, send, done bool) {
	now := w.opts.Now()
	if e.data == nil {
		return Message{Payload: summaryPayload(e.count, e.lastID, now), Urgency: UrgencyNormal,
			Topic: topicFor(w.opts.CollapseKey, e.user, e.topicStart), TTL: w.opts.TTL}, true, false
	}
	md, err := parseMeta(e.data)
	if err == nil {
		msg.Payload, err = fitPayload(e.data)
	}
	if err != nil {
		w.stats.invalid.Add(1)
		log.Error("drop push queue entry", slog.Any("error", err))
		return msg, false, true
	}
	var live bool
	msg.TTL, live = pushTTL(w.opts.TTL, md.ExpiresAt, now)
	muted := slices.Contains(prefs.Muted, md.Type) || slices.Contains(prefs.PushMuted, md.Type)
	if !live || muted && !md.Mandatory {
		w.stats.prefs.Add(1)
		return msg, false, true
	}
	if quiet, end := prefs.quietUntil(now); quiet && !md.Mandatory {
		if err := w.hold(hctx, e.user, md.ID, now, end); err != nil {
			log.Warn("push: hold for quiet hours", slog.Any("error", err))
			return msg, false, false
		}
		w.stats.quietHeld.Add(1)
		return msg, false, true
	}
	// The window opened now starts now: its name is known before the check, so the
	// FCM copy can be handed off by the check itself.
	msg.Urgency, msg.Topic = urgencyOf(md.Type, md.Severity), topicFor(w.opts.CollapseKey, e.user, now.UnixMilli())
	var handoff []byte
	if devices {
		if handoff, err = json.Marshal(mobileMessage(msg)); err != nil {
			return msg, false, true // plain fields: cannot happen
		}
	}
	first, _, err := w.admit(hctx, e.user, md.ID, now, handoff)
	if err != nil {
		log.Warn("push: window", slog.Any("error", err))
		return msg, false, false
	}
	if !first {
		w.stats.held.Add(1)
		return msg, false, true
	}
	return msg, true, false
}

// sendWithRetry pushes m to one subscription. 429, 5xx and network failures are retried
// with jittered exponential backoff (at least the push service's Retry-After) for up to
// RetryFor. Only the request holds a sending slot, never the wait, one push service
// holds at most PerOrigin of them, so a slow or failing push service delays nobody
// else, and one user at most perUserSends. 401/403 are not a reason to remove the subscription: they also follow our own
// misconfiguration (a wrong key pair), and deleting every subscription then would be
// worse than logging. It returns an error only when shutdown interrupted it.
func (w *Worker) sendWithRetry(ctx, hctx context.Context, log *slog.Logger, user string, sub Subscription, m Message) error {
	deadline := time.Now().Add(w.opts.RetryFor)
	delay := w.opts.Backoff
	for {
		if err := w.users.acquire(hctx, user); err != nil {
			return err
		}
		if err := w.limit.acquire(hctx, sub.Origin()); err != nil {
			w.users.release(user)
			return err
		}
		err := w.sender.Send(hctx, sub, m)
		w.limit.release(sub.Origin())
		w.users.release(user)
		var se *SendError
		switch {
		case err == nil:
			w.stats.sent.Add(1)
			if w.sender.IsPrevious(sub) {
				w.stats.previousKey.Add(1)
			}
			return nil
		case errors.Is(err, ErrGone):
			w.stats.gone.Add(1)
			if errors.Is(err, errRetiredKey) {
				log.Warn("push: removing a subscription made with a VAPID key no longer configured", slog.String("origin", sub.Origin()))
			}
			if err := w.store.Remove(hctx, user, sub.Endpoint); err != nil {
				log.Warn("push: remove gone subscription", slog.String("origin", sub.Origin()), slog.Any("error", err))
			}
			return nil
		case hctx.Err() != nil:
			return hctx.Err()
		case !errors.As(err, &se) || !se.Temporary:
			w.stats.failed.Add(1)
			log.Warn("push refused", slog.Any("error", err))
			return nil
		}
		wait := delay/2 + rand.N(delay/2+1)
		wait = max(wait, se.RetryAfter)
		if time.Now().Add(wait).After(deadline) {
			w.stats.failed.Add(1)
			log.Warn("push given up", slog.Any("error", err), slog.Duration("retried_for", w.opts.RetryFor))
			return nil
		}
		w.stats.retries.Add(1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, time.Minute)
	}
}
