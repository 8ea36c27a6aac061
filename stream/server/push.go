package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// PushDeps are Web Push's collaborators. RedisDeps fills them when VAPID keys are
// configured; without them (a nil Deps.Push, as with the in-process broker) push is
// off: the push routes answer 404 and no worker runs.
type PushDeps struct {
	// Redis holds the push queue and the coalescing windows. RedisDeps gives push a
	// client of its own (Store and Online use it too): its own connection pool, so a
	// burst of pushes never makes stream opens and replays wait for a connection.
	// Serve closes it when it returns.
	Redis redis.UniversalClient
	// Queue is the Redis Stream the function adds new notifications to
	// (rediskey.Names.PushQueue).
	Queue string
	// Store keeps the users' subscriptions.
	Store webpush.Store
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
	if !cfg.Push.Enabled() {
		return nil
	}
	var pc redis.UniversalClient
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		opt := *c.Options()
		opt.PoolSize = pushPoolSize
		pc = redis.NewClusterClient(&opt)
	case *redis.Client:
		opt := *c.Options()
		opt.PoolSize = pushPoolSize
		pc = redis.NewClient(&opt)
	}
	return &PushDeps{
		Redis:  pc,
		Queue:  names.PushQueue(),
		Store:  webpush.NewRedisStore(pc, names, cfg.Push.AllowLoopback),
		Online: online(presence.NewRedis(pc, names, time.Now)),
		Prefs:  prefs,
	}
}

// online adapts presence to the worker: a user with any live stream is online.
func online(conns connCounter) webpush.Presence {
	return webpush.PresenceFunc(func(ctx context.Context, user string) (bool, error) {
		n, err := conns.Count(ctx, user)
		return n > 0, err
	})
}

// pusher is the server's Web Push side; the Server holds nil when push is off.
type pusher struct {
	sender *webpush.Sender
	store  webpush.Store
	worker *webpush.Worker
	rdb    redis.UniversalClient // PushDeps.Redis: closed when Serve returns
	done   chan struct{}         // closed when the worker's Run has returned
}

// newPusher checks the push configuration and builds the sender and the worker, whose
// counters it registers on reg. It returns nil when push is off.
func newPusher(cfg Config, d *PushDeps, log *slog.Logger, reg prometheus.Registerer) (*pusher, error) {
	if !cfg.Push.Enabled() {
		return nil, nil
	}
	if d == nil {
		log.Warn("VAPID keys are set but Web Push needs Redis (REDIS_ADDR): push is off")
		return nil, nil
	}
	log = log.With(logging.KeyComponent, "push")
	sender, err := webpush.NewSender(cfg.Push, nil)
	if err != nil {
		return nil, err
	}
	w, err := webpush.NewWorker(d.Redis, d.Store, sender, d.Online, d.Prefs, webpush.WorkerOptions{
		Queue: d.Queue, Window: cfg.Push.Window, TTL: cfg.Push.TTL, Concurrency: cfg.Push.Concurrency, Log: log})
	if err != nil {
		return nil, err
	}
	registerPushMetrics(reg, w)
	if cfg.Push.AllowLoopback {
		log.Warn("PUSH_ALLOW_LOOPBACK is on: subscriptions may point at http://127.0.0.1 (for tests only)")
	}
	log.Info("web push on", "queue", d.Queue, "vapid_public_key", sender.PublicKey(),
		"rotating", cfg.Push.PreviousPublicKey != "")
	return &pusher{sender: sender, store: d.Store, worker: w, rdb: d.Redis, done: make(chan struct{})}, nil
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
	_ = s.push.worker.Run(ctx) // nil once ctx ends; Redis failures are logged and retried inside
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
