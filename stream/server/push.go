package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/audience"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// PushDeps are push's collaborators (Web Push and FCM). RedisDeps fills them when
// VAPID keys or FCM_PROJECT_ID are configured; without them (a nil Deps.Push, as with
// the in-process broker) push is off: the push routes answer 404 and no worker runs.
type PushDeps struct {
	// Redis holds the push queues and the coalescing windows. RedisDeps gives push a
	// client of its own (Store and Online use it too): its own connection pool, so a
	// burst of pushes never makes stream opens and replays wait for a connection.
	// Serve closes it when it returns.
	Redis redis.UniversalClient
	// Queue is the Redis Stream the function adds new notifications to
	// (rediskey.Names.PushQueue).
	Queue string
	// Store keeps the users' Web Push subscriptions.
	Store webpush.Store
	// Devices keeps the users' FCM devices; FCMQueue carries decided FCM pushes and
	// CollapseKeyName is where windows' naming key is kept without VAPID keys.
	Devices         fcm.Store
	FCMQueue        string
	CollapseKeyName string
	// Members records who is in which group; Names names the fan-out's keys.
	Members *redisbroker.Members
	Names   rediskey.Names
	// Online reports whether a user has an open stream on any instance: no push then.
	Online webpush.Presence
	// Prefs are the users' push preferences (push off, muted types).
	Prefs webpush.Preferences
}

// connCounter counts a user's live streams on all instances (presence.Redis does).
type connCounter interface {
	Count(ctx context.Context, user string) (int, error)
}

// pushPoolSize bounds push's connections to Redis per instance: enough for hundreds of
// queue entries a second (about four round trips each).
const pushPoolSize = 16

// redisPushDeps wires push over Redis with a client of its own, configured like the
// broker's (rdb); nil when push is not configured. The client dials lazily. Online
// reads the server's presence (the same keys the streams' presence entries are in).
func redisPushDeps(cfg Config, rdb redis.UniversalClient, names rediskey.Names, prefs webpush.Preferences) *PushDeps {
	if !cfg.Push.Enabled() && !cfg.FCM.Enabled() {
		return nil
	}
	// A copy of the broker's options carries the state go-redis set up for that client's
	// maintenance notifications (a Redis Enterprise feature Memorystore does not send);
	// a second client registering it again only logs a failure, so it is off here.
	off := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	var pc redis.UniversalClient
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		opt := *c.Options()
		opt.PoolSize, opt.MaintNotificationsConfig = pushPoolSize, off
		pc = redis.NewClusterClient(&opt)
	case *redis.Client:
		opt := *c.Options()
		opt.PoolSize, opt.MaintNotificationsConfig = pushPoolSize, off
		pc = redis.NewClient(&opt)
	}
	return &PushDeps{
		Redis:  pc,
		Queue:  names.PushQueue(),
		Store:  webpush.NewRedisStore(pc, names, cfg.Push.AllowLoopback),
		Online: online(presence.NewRedis(pc, names, time.Now)),
		Prefs:  prefs,
		// Devices are kept even with FCM off, so turning it on finds them.
		Devices: fcm.NewRedisStore(pc, names), FCMQueue: names.FCMQueue(), CollapseKeyName: names.PushCollapseKey(),
		Members: redisbroker.NewMembers(pc, names, time.Now), Names: names,
	}
}

// online adapts presence to the worker: a user with any live stream is online.
func online(conns connCounter) webpush.Presence {
	return webpush.PresenceFunc(func(ctx context.Context, user string) (bool, error) {
		n, err := conns.Count(ctx, user)
		return n > 0, err
	})
}

// pusher is the server's push side; the Server holds nil when push is off. sender and
// store are nil without Web Push; fcmWorker and devices nil without FCM.
type pusher struct {
	sender    *webpush.Sender
	store     webpush.Store
	devices   fcm.Store
	members   *redisbroker.Members
	worker    *webpush.Worker       // decides, sends Web Push, hands FCM pushes over
	fcmWorker *webpush.Worker       // sends decided FCM pushes
	rdb       redis.UniversalClient // PushDeps.Redis: closed when Serve returns
	done      chan struct{}         // closed when the workers' Run have returned
}

// newPusher checks the push configuration and builds the senders and the workers, whose
// counters it registers on reg. It returns nil when push is off.
func newPusher(cfg Config, d *PushDeps, log *slog.Logger, reg prometheus.Registerer) (*pusher, error) {
	if !cfg.Push.Enabled() && !cfg.FCM.Enabled() {
		return nil, nil
	}
	if d == nil {
		log.Warn("push (VAPID keys or FCM_PROJECT_ID) is configured but needs Redis (REDIS_ADDR): push is off")
		return nil, nil
	}
	log = log.With(logging.KeyComponent, "push")
	p := &pusher{rdb: d.Redis, members: d.Members, done: make(chan struct{})}
	opts := webpush.WorkerOptions{Queue: d.Queue, Window: cfg.Push.Window, TTL: cfg.Push.TTL,
		Concurrency: cfg.Push.Concurrency, Log: log}
	if d.Members != nil {
		opts.Fanout = audience.NewFanout(d.Redis, d.Names, d.Members,
			audience.FanoutOptions{Rate: cfg.PushFanoutRate, Log: log.With("part", "fanout")})
	}
	if cfg.Push.Enabled() {
		var err error
		if p.sender, err = webpush.NewSender(cfg.Push, nil); err != nil {
			return nil, err
		}
		p.store = d.Store
	}
	if cfg.FCM.Enabled() {
		sender, err := fcm.NewSender(context.Background(), cfg.FCM)
		if err != nil {
			return nil, err
		}
		p.devices = d.Devices
		opts.Mobile = &webpush.Mobile{Devices: d.Devices, Queue: d.FCMQueue, KeyName: d.CollapseKeyName}
		fopts := opts
		fopts.Queue, fopts.Concurrency, fopts.Mobile = d.FCMQueue, cfg.FCM.Concurrency, nil
		fopts.Log = log.With("sender", "fcm")
		if p.fcmWorker, err = webpush.NewFCMWorker(d.Redis, d.Devices, sender, fopts); err != nil {
			return nil, err
		}
		registerFCMMetrics(reg, p.fcmWorker)
		if cfg.FCM.Endpoint != "" {
			log.Warn("FCM_ENDPOINT is set: FCM pushes go to a stand-in (for tests only)")
		}
		log.Info("fcm push on", "project", cfg.FCM.ProjectID, "queue", d.FCMQueue)
	}
	var err error
	if p.worker, err = webpush.NewWorker(d.Redis, p.store, p.sender, d.Online, d.Prefs, opts); err != nil {
		return nil, err
	}
	registerPushMetrics(reg, p.worker)
	if p.sender != nil {
		if cfg.Push.AllowLoopback {
			log.Warn("PUSH_ALLOW_LOOPBACK is on: subscriptions may point at http://127.0.0.1 (for tests only)")
		}
		log.Info("web push on", "queue", d.Queue, "vapid_public_key", p.sender.PublicKey(),
			"rotating", cfg.Push.PreviousPublicKey != "")
	}
	return p, nil
}

// runPush runs the push worker until ctx ends and returns once it has stopped: after
// at most a second (its blocking read) plus the time requests already sent may take to
// finish (3 s). Entries it leaves unfinished stay pending in Redis and another
// instance takes them over. Serve runs and joins it.
func (s *Server) runPush(ctx context.Context) {
	if s.push == nil {
		return
	}
	defer close(s.push.done)
	var wg sync.WaitGroup
	// nil once ctx ends; Redis failures are logged and retried inside.
	wg.Go(func() { _ = s.push.worker.Run(ctx) })
	if s.push.fcmWorker != nil {
		wg.Go(func() { _ = s.push.fcmWorker.Run(ctx) })
	}
	wg.Wait()
}

// closePush closes push's Redis client, once nothing uses it: Serve calls it after the
// worker and every request have ended.
func (s *Server) closePush() {
	if s.push == nil {
		return
	}
	if err := s.push.rdb.Close(); err != nil {
		s.log.Warn("close push redis client", logging.KeyError, err.Error())
	}
}

// registerPushMetrics exposes the worker's counters.
func registerPushMetrics(reg prometheus.Registerer, w *webpush.Worker) {
	counter := func(name, help string, v func(webpush.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(w.Stats())) })
	}
	reg.MustRegister(
		counter("push_sent_total", "Web Push messages a push service accepted.",
			func(s webpush.Stats) uint64 { return s.Sent }),
		counter("push_failed_total", "Web Push messages refused by the push service (4xx) or given up after retrying.",
			func(s webpush.Stats) uint64 { return s.Failed }),
		counter("push_subscriptions_removed_total", "Subscriptions removed: 404/410 from the push service, or made with a VAPID key no longer configured.",
			func(s webpush.Stats) uint64 { return s.Gone }),
		counter("push_coalesced_total", "Notifications counted into a coalescing window's summary instead of pushed at once.",
			func(s webpush.Stats) uint64 { return s.Held }),
		counter("push_retries_total", "Push requests repeated after 429, 5xx or a network error.",
			func(s webpush.Stats) uint64 { return s.Retries }),
		counter("push_skipped_online_total", "Notifications not pushed because the user had an open stream.",
			func(s webpush.Stats) uint64 { return s.SkippedOnline }),
		counter("push_sent_previous_key_total", "Pushes signed with the previous VAPID key of a rotation (VAPID_PREVIOUS_*).",
			func(s webpush.Stats) uint64 { return s.SentPreviousKey }),
		counter("push_quiet_held_total", "Pushes held for the user's quiet hours.",
			func(s webpush.Stats) uint64 { return s.QuietHeld }),
		counter("push_quiet_summaries_total", "Summaries of held pushes sent when a user's quiet hours ended.",
			func(s webpush.Stats) uint64 { return s.QuietSummary }),
	)
}

// registerFCMMetrics exposes the FCM worker's counters.
func registerFCMMetrics(reg prometheus.Registerer, w *webpush.Worker) {
	counter := func(name, help string, v func(webpush.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(w.Stats())) })
	}
	reg.MustRegister(
		counter("fcm_sent_total", "FCM messages FCM accepted.", func(s webpush.Stats) uint64 { return s.Sent }),
		counter("fcm_failed_total", "FCM messages refused or given up after retrying.", func(s webpush.Stats) uint64 { return s.Failed }),
		counter("fcm_devices_removed_total", "Devices removed on UNREGISTERED or an invalid token.",
			func(s webpush.Stats) uint64 { return s.Gone }),
		counter("fcm_retries_total", "FCM requests repeated after 429, 500, 503 or a timeout.",
			func(s webpush.Stats) uint64 { return s.Retries }),
	)
}
