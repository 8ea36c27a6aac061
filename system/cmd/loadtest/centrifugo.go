package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Centrifugo, for the side-by-side comparison (scripts/compare.sh): each user's
// notifications go to the channel notifications:<user> in a namespace with history
// (stored and published, as ours are); clients connect to its unidirectional SSE
// transport with a connection token whose "channels" claim subscribes them to their
// channel on the server side; notifications are published through its HTTP server API.

// centrifugoChannel is the channel of a user's notifications.
func centrifugoChannel(user string) string { return "notifications:" + user }

// centrifugoStreamPath is the request path of a unidirectional SSE connection: the
// connect command travels in the cf_connect query parameter (a browser's EventSource
// cannot send a body or headers).
func centrifugoStreamPath(token string) string {
	connect, _ := json.Marshal(map[string]string{"token": token})
	return "/connection/uni_sse?cf_connect=" + url.QueryEscape(string(connect))
}

// centrifugoPublish builds the server API call that publishes the same notification
// our function would store for the job: its data is the notification object, and the
// request id is its idempotency key (Centrifugo's equivalent of our dedupe marker).
func centrifugoPublish(ctx context.Context, base, apiKey, user, rid string, sent time.Time) *http.Request {
	body, _ := json.Marshal(map[string]any{
		"channel": centrifugoChannel(user),
		"data": map[string]string{"type": "video_complete", "request_id": rid,
			"video_url": "https://cdn.example/v/" + rid + ".mp4", "title": "Load test",
			"created_at": sent.UTC().Format("2006-01-02T15:04:05.000Z07:00")},
		"idempotency_key": rid,
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/api/publish", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", apiKey)
	return req
}

// centrifugoReplyError reads a server API reply: errors come back with status 200 and
// an "error" object.
func centrifugoReplyError(reply []byte) error {
	var r struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return fmt.Errorf("centrifugo reply: %w", err)
	}
	if r.Error != nil {
		return fmt.Errorf("centrifugo: %d %s", r.Error.Code, r.Error.Message)
	}
	if r.Result == nil {
		return errors.New("centrifugo reply has no result")
	}
	return nil
}
