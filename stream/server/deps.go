package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/rooms"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// jwksRefresh is the fastest an unknown kid may trigger a JWKS refetch.
const jwksRefresh = 30 * time.Second

// Broker is what the stream uses of the broker contract: live delivery (the hub),
// reading the logs (replay, history), read marks, preferences and readiness. It never
// publishes: notifications come from the function (the releaser of scheduled ones
// takes Deps.Publisher).
type Broker interface {
	broker.Feed
	broker.LogReader
	broker.Reads
	broker.Preferences
	broker.Ready
}

// Presence records open streams across instances, for the per-user cap.
type Presence interface {
	Acquire(ctx context.Context, user, conn string, limit int) (bool, error)
	Release(ctx context.Context, user, conn string) error
	Refresh(ctx context.Context, conns map[string]string) error
}

// Deps are the server's collaborators. The server uses them until Serve returns; the
// caller closes them after that.
type Deps struct {
	Broker   Broker
	Tickets  ticket.Store
	Presence Presence
	// JWKS resolves RS256/ES256 keys; nil when JWT_JWKS_URL is unset.
	JWKS jwt.Keyfunc
	// Push is Web Push (push.go); nil leaves it off.
	Push *PushDeps
	// Rooms are the WebSocket rooms; nil leaves them off.
	Rooms *RoomsDeps
	// Privacy keeps receipts and serves export (receipts.go); nil leaves receipts and
	// export off (501).
	Privacy Privacy
	// Members records the groups each token shows (push_members.go): the audience of
	// group push and of receipts; nil records nothing.
	Members MemberRecorder
	// Schedule holds notifications published with send_at; this instance releases
	// them when due (schedule.go), writing them through Publisher (required with
	// Schedule). nil leaves releasing to others.
	Schedule  broker.Schedule
	Publisher broker.Publisher
}

// RoomsDeps are where rooms are kept and how their events cross instances.
type RoomsDeps struct {
	Store  rooms.Store
	Fanout rooms.Fanout
	// SetDeliver connects the fan-out's incoming frames to the hub.
	SetDeliver func(func(room string, frame []byte))
}

// Hub builds this instance's rooms hub over d.
func (d *RoomsDeps) Hub(instance string, log *slog.Logger) (*rooms.Hub, error) {
	h, err := rooms.NewHub(d.Store, d.Fanout, instance, log)
	if err == nil && d.SetDeliver != nil {
		d.SetDeliver(h.Deliver)
	}
	return h, err
}

// RedisRooms keep rooms in Redis and fan their events out over its pub/sub, so every
// instance serves every room.
func RedisRooms(rdb redis.UniversalClient, prefix string) *RoomsDeps {
	f := rooms.NewRedisFanout(rdb, prefix)
	return &RoomsDeps{Store: rooms.NewRedis(rdb, prefix, time.Now), Fanout: f, SetDeliver: f.SetDeliver}
}

// MemoryRooms keeps rooms in this process: one instance only (the local system, tests).
func MemoryRooms() *RoomsDeps {
	m := rooms.NewMemory(time.Now)
	return &RoomsDeps{Store: m, Fanout: m, SetDeliver: m.SetDeliver}
}

// RedisDeps are the production collaborators: everything shared through Redis, so any
// instance can redeem any ticket and the per-user cap holds across instances. Web Push
// is wired when VAPID keys are configured.
func RedisDeps(ctx context.Context, cfg Config, b *redisbroker.Broker) (Deps, error) {
	names := b.Names()
	d := Deps{Broker: b, Tickets: ticket.NewRedisStore(b.Client(), names), Presence: presence.NewRedis(b.Client(), names, time.Now),
		Push: redisPushDeps(cfg, b.Client(), names, PushPreferences(b)), Rooms: RedisRooms(b.Client(), names.Prefix),
		Schedule: redisbroker.NewSchedule(b.Client(), names), Publisher: b, Members: redisbroker.NewMembers(b.Client(), names, time.Now)}
	p, err := redisbroker.NewPrivacy(b.Client(), names, b.Limits())
	if err != nil {
		return Deps{}, err
	}
	d.Privacy = p
	return d, d.withJWKS(ctx, cfg)
}

// MemoryDeps keep tickets and presence in this process (the local single-process system).
// b is the whole broker: the stream reads through it and releases scheduled
// notifications into it.
func MemoryDeps(ctx context.Context, cfg Config, b broker.Broker) (Deps, error) {
	d := Deps{Broker: b, Tickets: ticket.NewMemoryStore(time.Now), Presence: presence.NewMemory(time.Now), Rooms: MemoryRooms(),
		Schedule: broker.NewMemorySchedule(), Publisher: b}
	return d, d.withJWKS(ctx, cfg)
}

func (d *Deps) withJWKS(ctx context.Context, cfg Config) error {
	if cfg.JWTJWKSURL == "" {
		return nil
	}
	k, err := auth.NewJWKS(ctx, cfg.JWTJWKSURL, jwksRefresh)
	d.JWKS = k
	return err
}
