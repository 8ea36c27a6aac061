package webpush

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
)

// Mobile is FCM as the deciding Worker sees it. The Worker decides once per
// notification for both senders (presence, preferences, expiry, coalescing); when the
// user has devices it hands the decided push to Queue, where a Worker made by
// NewFCMWorker sends it. The two queues have their own consumers, slots and request
// limits, so an FCM that is slow or failing never holds Web Push up (nor the reverse).
type Mobile struct {
	Devices fcm.Store
	Queue   string // rediskey.Names.FCMQueue
	KeyName string // rediskey.Names.PushCollapseKey: used when there is no VAPID key
}

// FCMSender sends one decided push to one device (fcm.Sender does).
type FCMSender interface {
	Send(ctx context.Context, token string, m fcm.Message, now time.Time) error
}

// fieldMobile is the FCM queue entry's decided message (fcm.Message as JSON).
const fieldMobile = "m"

// fcmDelivery is what a Worker made by NewFCMWorker sends with.
type fcmDelivery struct {
	sender  FCMSender
	devices fcm.Store
}

// NewFCMWorker returns a Worker that drains opts.Queue (the FCM queue): each entry is
// an already decided push, sent to every device the user has then. Its requests are
// bounded by opts.Concurrency; it retries 429/500/503 like the Web Push side.
func NewFCMWorker(rdb redis.UniversalClient, devices fcm.Store, sender FCMSender, opts WorkerOptions) (*Worker, error) {
	if devices == nil || sender == nil {
		return nil, errors.New("webpush: NewFCMWorker needs a device store and a sender")
	}
	if opts.Group == "" {
		opts.Group = "fcm"
	}
	opts.Mobile = &Mobile{Devices: devices}
	if opts.Concurrency > 0 {
		opts.PerOrigin = opts.Concurrency // one origin: FCM
	}
	nobody := PresenceFunc(func(context.Context, string) (bool, error) { return false, nil })
	w, err := NewWorker(rdb, nil, nil, nobody, PreferencesFunc(func(context.Context, string) (PushPrefs, error) {
		return PushPrefs{}, nil
	}), opts)
	if err != nil {
		return nil, err
	}
	w.fcm = &fcmDelivery{sender: sender, devices: devices}
	return w, nil
}

// hasDevices reports whether the deciding Worker must hand a push to FCM for user.
func (w *Worker) hasDevices(ctx context.Context, user string) (bool, error) {
	if w.opts.Mobile == nil || w.opts.Mobile.Queue == "" {
		return false, nil
	}
	n, err := w.opts.Mobile.Devices.Count(ctx, user)
	return n > 0, err
}

// handOff queues the decided push for the FCM Worker (same hash tag as the push queue).
func (w *Worker) handOff(ctx context.Context, user string, m Message) error {
	b, err := json.Marshal(mobileMessage(m))
	if err != nil {
		return err
	}
	return w.rdb.XAdd(ctx, &redis.XAddArgs{Stream: w.opts.Mobile.Queue, MaxLen: rediskey.PushQueueMaxLen, Approx: true,
		Values: []any{FieldUser, user, fieldMobile, b}}).Err()
}

// decideDelivery is decide for the FCM Worker: the entry is decided already.
func (w *Worker) decideDelivery(hctx context.Context, m redis.XMessage) (j job, send, done bool) {
	user, _ := m.Values[FieldUser].(string)
	raw, _ := m.Values[fieldMobile].(string)
	if !notification.ValidUserID(user) || json.Unmarshal([]byte(raw), &j.mobile) != nil {
		w.stats.invalid.Add(1)
		w.log.Error("drop fcm queue entry", slog.String("entry_id", m.ID))
		return j, false, true
	}
	j.user, j.log = user, w.log.With(slog.String("user_id", user), slog.String("entry_id", m.ID))
	devs, err := w.fcm.devices.List(hctx, user)
	if err != nil {
		j.log.Warn("fcm: devices", slog.Any("error", err))
		return j, false, false
	}
	if len(devs) == 0 {
		w.stats.noSubs.Add(1)
		return j, false, true
	}
	j.devices = devs
	return j, true, false
}

// sendFCMWithRetry is sendWithRetry for one device: UNREGISTERED or an invalid token
// removes the device, 429/500/503 and timeouts are retried with jittered backoff of
// at least FCM's Retry-After for up to RetryFor. It returns an error only when
// shutdown interrupted it.
func (w *Worker) sendFCMWithRetry(ctx, hctx context.Context, log *slog.Logger, user string, d fcm.Device, m fcm.Message) error {
	deadline := time.Now().Add(w.opts.RetryFor)
	delay := w.opts.Backoff
	for {
		if err := w.users.acquire(hctx, user); err != nil {
			return err
		}
		if err := w.limit.acquire(hctx, "fcm"); err != nil {
			w.users.release(user)
			return err
		}
		err := w.fcm.sender.Send(hctx, d.Token, m, w.opts.Now())
		w.limit.release("fcm")
		w.users.release(user)
		var se *fcm.SendError
		switch {
		case err == nil:
			w.stats.sent.Add(1)
			return nil
		case errors.As(err, &se) && se.Gone:
			w.stats.gone.Add(1)
			if err := w.fcm.devices.Remove(hctx, user, d.Token); err != nil {
				log.Warn("fcm: remove gone device", slog.Any("error", err))
			}
			return nil
		case hctx.Err() != nil:
			return hctx.Err()
		case se == nil || !se.Temporary:
			w.stats.failed.Add(1)
			log.Warn("fcm push refused", slog.String("platform", d.Platform), slog.Any("error", err))
			return nil
		}
		wait := max(delay/2+rand.N(delay/2+1), se.RetryAfter)
		if time.Now().Add(wait).After(deadline) {
			w.stats.failed.Add(1)
			log.Warn("fcm push given up", slog.Any("error", err), slog.Duration("retried_for", w.opts.RetryFor))
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

// ensureCollapseKey makes sure the deciding Worker has a key to name windows with:
// without Web Push's VAPID key, one random key shared through Redis (SET NX, kept
// forever: a new key would only rename windows). It returns false when ctx ended.
func (w *Worker) ensureCollapseKey(ctx context.Context) bool {
	if w.opts.CollapseKey != nil || w.fcm != nil {
		return true
	}
	name := w.opts.Mobile.KeyName
	if name == "" {
		name = w.opts.Queue + ":collapsekey"
	}
	for ctx.Err() == nil {
		err := w.rdb.SetNX(ctx, name, crand.Text(), 0).Err()
		var key string
		if err == nil {
			key, err = w.rdb.Get(ctx, name).Result()
		}
		if err == nil && key != "" {
			w.opts.CollapseKey = []byte(key)
			return true
		}
		w.pause(ctx, "push collapse key", fmt.Errorf("get %s: %w", name, err))
	}
	return false
}
