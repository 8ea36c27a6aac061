package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// The two ways a broadcast is published (broadcast.go): straight into Redis, or
// through the function's Publish entry point.

// redisBroadcaster stores and publishes through the broker the function uses.
type redisBroadcaster struct {
	b   *redisbroker.Broker
	run string // makes the message ids of this run unique
}

func newRedisBroadcaster(addr, prefix string) (*redisBroadcaster, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b, err := redisbroker.New(rdb, rediskey.Names{Prefix: prefix}, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		rdb.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		b.Close()
		return nil, fmt.Errorf("-redis %s: %w", addr, err)
	}
	return &redisBroadcaster{b: b, run: strconv.FormatInt(time.Now().UnixNano(), 10)}, nil
}

func (r *redisBroadcaster) broadcast(ctx context.Context, k int, sent time.Time) error {
	n := notification.Notification{Type: "announcement", Severity: notification.SeverityInfo,
		Title: broadcastTitleOf(k, sent), Text: "Load test broadcast", CreatedAt: notification.Timestamp{Time: sent}}
	_, dup, err := r.b.Publish(ctx, broker.Everyone, fmt.Sprintf("lt-b-%s-%d", r.run, k), n)
	if err == nil && dup {
		err = errors.New("broadcast deduplicated: its message id was used before")
	}
	return err
}

func (r *redisBroadcaster) close() { r.b.Close() }

// functionBroadcaster posts a CloudEvent to the function's Publish entry point.
type functionBroadcaster struct {
	url    string
	client *http.Client
	run    string
}

func (f *functionBroadcaster) broadcast(ctx context.Context, k int, sent time.Time) error {
	id := fmt.Sprintf("lt-b-%s-%d", f.run, k)
	data, _ := json.Marshal(map[string]any{"type": "announcement", "severity": "info",
		"audience": map[string]bool{"all": true}, "title": broadcastTitleOf(k, sent), "body": "Load test broadcast"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(eventarc.PushBody(data, id, sent)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", id)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", eventarc.EventType)
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/local/topics/notifications")
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the Publish entry point answered %s", resp.Status)
	}
	return nil
}

func (f *functionBroadcaster) close() {}

func newBroadcaster(o options) (broadcaster, error) {
	if o.broadcastFunction != "" {
		return &functionBroadcaster{url: o.broadcastFunction, client: &http.Client{Timeout: 10 * time.Second},
			run: strconv.FormatInt(time.Now().UnixNano(), 10)}, nil
	}
	return newRedisBroadcaster(o.redisAddr, o.redisPrefix)
}
