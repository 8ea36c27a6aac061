package webpush

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// WorkerOptions tune a Worker. Queue is required; zero values get the defaults shown.
type WorkerOptions struct {
	Queue       string         // the Redis Stream the function writes to, e.g. "notifications:{push}"
	Names       rediskey.Names // names of the quiet-hours keys: the prefix of Queue (before ":{push}")
	Group       string         // consumer group: "push"
	Consumer    string         // this instance's name in the group: hostname + random suffix
	Window      time.Duration  // coalescing window (Config.Window): 60s
	TTL         time.Duration  // push TTL (Config.TTL): 24h
	Concurrency int            // requests to push services in flight (Config.Concurrency): 256
	PerOrigin   int            // of which to one push service (origin): Concurrency/2
	MaxInFlight int            // queue entries handled at once: 1024
	ClaimIdle   time.Duration  // a pending entry idle this long belongs to a dead consumer: 30s
	RetryFor    time.Duration  // how long one push is retried on 429/5xx/timeouts: 5m
	Backoff     time.Duration  // first retry delay, doubling up to a minute: 1s
	Tick        time.Duration  // how often ended windows are summarised: 500ms
	Block       time.Duration  // XREADGROUP BLOCK, which also bounds how long Run takes to stop: 1s
	Drain       time.Duration  // on shutdown, how long running requests may finish: 3s
	// Mobile adds FCM to the decision (mobile.go); nil for Web Push alone.
	Mobile *Mobile
	// Fanout takes group and broadcast entries (user field "@<group>" or "!all") and
	// queues one entry per member; nil drops them as malformed.
	Fanout Fanout
	// CollapseKey keys the HMAC that names a coalescing window (Web Push Topic, FCM
	// collapse key). Nil: the VAPID private key, or, without Web Push, a random key kept
	// in Redis at Mobile.KeyName so every instance names windows alike.
	CollapseKey []byte
	Log         *slog.Logger
	Now         func() time.Time
}

// perUserSends bounds one user's requests in flight. A user has up to 10
// subscriptions, whose endpoints the user's browsers chose: each request can cost up
// to the response header bound, so one user's pushes may not all hold memory at once.
const perUserSends = 2

// Worker consumes the push queue. Run it once per instance; instances share the work.
type Worker struct {
	rdb      redis.UniversalClient
	store    Store        // nil without Web Push
	sender   *Sender      // nil without Web Push
	fcm      *fcmDelivery // set on a Worker that only sends decided FCM pushes (mobile.go)
	presence Presence
	prefs    Preferences
	opts     WorkerOptions
	log      *slog.Logger

	slots chan struct{} // one per queue entry being handled
	limit *limiter      // requests to push services
	users *limiter      // requests for one user: at most perUserSends
	stats counters

	mu       sync.Mutex
	inFlight map[string]struct{}         // entry IDs being handled here, whose claim we renew
	waiting  map[string][]redis.XMessage // users being decided → their entries read since

	groupReady  atomic.Bool // the consumer group exists (readLoop made sure)
	claimCursor string      // where XAUTOCLAIM goes on; only readLoop touches it
}

// NewWorker returns a Worker; it does nothing until Run.
func NewWorker(rdb redis.UniversalClient, store Store, sender *Sender, presence Presence, prefs Preferences, opts WorkerOptions) (*Worker, error) {
	if rdb == nil || (store == nil || sender == nil) && opts.Mobile == nil || presence == nil || prefs == nil {
		return nil, errors.New("webpush: NewWorker needs a redis client, a store and sender or Mobile, presence and preferences")
	}
	if opts.CollapseKey == nil && sender != nil {
		opts.CollapseKey = sender.keys.raw
	}
	if opts.Queue == "" {
		return nil, errors.New("webpush: WorkerOptions.Queue is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Window, time.Minute)
	def(&opts.TTL, 24*time.Hour)
	def(&opts.ClaimIdle, 30*time.Second)
	def(&opts.RetryFor, 5*time.Minute)
	def(&opts.Backoff, time.Second)
	def(&opts.Tick, 500*time.Millisecond)
	def(&opts.Block, time.Second)
	def(&opts.Drain, 3*time.Second)
	if opts.Names.Prefix == "" {
		opts.Names.Prefix = strings.TrimSuffix(opts.Queue, ":{push}")
	}
	if opts.Group == "" {
		opts.Group = "push"
	}
	if opts.Consumer == "" {
		host, _ := os.Hostname()
		opts.Consumer = host + "-" + strings.ToLower(rand.Text()[:8])
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 256
	}
	if opts.PerOrigin <= 0 {
		opts.PerOrigin = max(1, opts.Concurrency/2)
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 1024
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Worker{rdb: rdb, store: store, sender: sender, presence: presence, prefs: prefs, opts: opts,
		log:      opts.Log.With(slog.String("consumer", opts.Consumer)),
		slots:    make(chan struct{}, opts.MaxInFlight),
		limit:    newLimiter(opts.Concurrency, opts.PerOrigin),
		users:    newLimiter(opts.Concurrency, perUserSends),
		inFlight: map[string]struct{}{},
		waiting:  map[string][]redis.XMessage{}}
	return w, nil
}

// Run consumes the queue until ctx ends, then lets requests already on the wire finish
// for up to Drain and returns (after at most Block + Drain: go-redis does not interrupt
// a blocked XREADGROUP). Entries it did not finish stay pending in the group and
// another instance reclaims them after ClaimIdle. Run returns nil after ctx ends; a
// Redis outage is logged and retried, not returned.
func (w *Worker) Run(ctx context.Context) error {
	if !w.ensureCollapseKey(ctx) {
		return nil
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(w.opts.Drain, cancel) })
	defer stop()
	defer cancel()
	var handlers, loops sync.WaitGroup
	loops.Go(func() { w.readLoop(ctx, hctx, &handlers) })
	loops.Go(func() { w.maintainLoop(ctx, hctx, &handlers) })
	if w.opts.Fanout != nil && w.fcm == nil {
		loops.Go(func() { w.opts.Fanout.Run(ctx) })
	}
	loops.Wait()
	handlers.Wait()
	return nil
}

func (w *Worker) ensureGroup(ctx context.Context) error {
	err := w.rdb.XGroupCreateMkStream(ctx, w.opts.Queue, w.opts.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("xgroup create %s: %w", w.opts.Queue, err)
	}
	return nil
}

// readLoop hands new entries to handlers, reading only as many as there are free slots
// so a backlog waits in Redis (where another instance can take it), not in memory.
// Every ClaimIdle/3 it takes over, with the same slots, the entries of dead consumers
// instead of reading: the loop holds every free slot while its read blocks, so a
// reclaim from any other goroutine would find none free whenever the queue is quiet,
// and a dead instance's entries would wait for the next burst of traffic.
func (w *Worker) readLoop(ctx, hctx context.Context, handlers *sync.WaitGroup) {
	needGroup := true
	var lastClaim time.Time
	for ctx.Err() == nil {
		if needGroup {
			if err := w.ensureGroup(ctx); err != nil {
				w.pause(ctx, "create consumer group", err)
				continue
			}
			needGroup = false
			w.groupReady.Store(true)
		}
		n := w.takeSlots(ctx)
		if n == 0 {
			return
		}
		if time.Since(lastClaim) >= w.opts.ClaimIdle/3 {
			lastClaim = time.Now()
			if err := w.reclaim(ctx, hctx, handlers, n); err != nil && ctx.Err() == nil {
				w.log.WarnContext(ctx, "reclaim push queue entries", slog.Any("error", err))
			}
			continue
		}
		res, err := w.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: w.opts.Group, Consumer: w.opts.Consumer,
			Streams: []string{w.opts.Queue, ">"}, Count: int64(n), Block: w.opts.Block}).Result()
		var msgs []redis.XMessage
		if len(res) > 0 {
			msgs = res[0].Messages
		}
		w.dispatch(ctx, hctx, handlers, msgs, n)
		if err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil {
			needGroup = strings.HasPrefix(err.Error(), "NOGROUP")
			w.pause(ctx, "read push queue", err)
		}
	}
}

// maintainLoop summarises ended windows and ended quiet hours every Tick and, every
// ClaimIdle/3, renews the claim on entries still being handled here.
func (w *Worker) maintainLoop(ctx, hctx context.Context, handlers *sync.WaitGroup) {
	tick := time.NewTicker(w.opts.Tick)
	defer tick.Stop()
	var lastClaim, lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Windows and quiet hours are the deciding Worker's: the FCM Worker's queue holds
		// pushes already decided, and a quiet-hours summary it claimed it would drop
		// (it has neither subscriptions nor the hand-off to send it on).
		if w.fcm == nil {
			if err := w.flushDue(ctx, w.opts.Now()); err != nil && ctx.Err() == nil {
				w.log.WarnContext(ctx, "push windows", slog.Any("error", err))
			}
			if err := w.flushQuiet(ctx, hctx, handlers, w.opts.Now()); err != nil && ctx.Err() == nil {
				w.log.WarnContext(ctx, "push quiet hours", slog.Any("error", err))
			}
		}
		if !w.groupReady.Load() || time.Since(lastClaim) < w.opts.ClaimIdle/3 {
			continue
		}
		lastClaim = time.Now()
		if err := w.renewClaims(ctx); err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "renew push queue claims", slog.Any("error", err))
		}
		if time.Since(lastPrune) > 10*time.Minute {
			lastPrune = time.Now()
			if err := w.pruneConsumers(ctx, time.Hour); err != nil && ctx.Err() == nil {
				w.log.WarnContext(ctx, "prune push queue consumers", slog.Any("error", err))
			}
		}
	}
}
