package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type options struct {
	streamURL, functionURL, secret string
	users, count                   int
	rate                           float64
	timeout                        time.Duration
}

type result struct {
	sent, received, lost, dups int
	lat                        []time.Duration // sorted
}

func (r result) String() string {
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
	}
	return fmt.Sprintf("sent %d received %d lost %d duplicated %d\npublish→SSE latency: p50 %v p90 %v p99 %v max %v",
		r.sent, r.received, r.lost, r.dups, pct(0.50), pct(0.90), pct(0.99), pct(1))
}

func measure(o options) (result, error) {
	if o.secret == "" || o.users < 1 || o.count < 1 || o.rate <= 0 {
		return result{}, errors.New("need -secret (or JWT_SECRET), -users >= 1, -n >= 1, -rate > 0")
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	var mu sync.Mutex
	sentAt := map[string]time.Time{} // request id → publish time
	seen := map[string]int{}
	var lat []time.Duration
	got := make(chan struct{}, o.count*2)

	opened := make(chan error, o.users)
	for u := range o.users {
		user := fmt.Sprintf("lat-user-%d", u)
		go func() {
			opened <- stream(ctx, o, user, func(requestID string) {
				now := time.Now()
				mu.Lock()
				seen[requestID]++
				if seen[requestID] == 1 {
					lat = append(lat, now.Sub(sentAt[requestID]))
				}
				mu.Unlock()
				got <- struct{}{}
			})
		}()
	}
	for range o.users {
		if err := <-opened; err != nil {
			return result{}, err
		}
	}

	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
	defer tick.Stop()
	run := time.Now().UnixNano()
	for i := range o.count {
		<-tick.C
		rid := fmt.Sprintf("r-%d-%d", run, i)
		mu.Lock()
		sentAt[rid] = time.Now()
		mu.Unlock()
		if err := publish(ctx, client, o.functionURL, fmt.Sprintf("lat-user-%d", i%o.users), rid); err != nil {
			return result{}, err
		}
	}
	received := 0
	for received < o.count {
		select {
		case <-got:
			received++
		case <-ctx.Done():
			received = o.count // stop waiting; the counts below tell what arrived
		case <-time.After(5 * time.Second):
			received = o.count
		}
	}
	time.Sleep(200 * time.Millisecond) // let any duplicate arrive before counting
	mu.Lock()
	defer mu.Unlock()
	r := result{sent: o.count, lat: slices.Clone(lat)}
	slices.Sort(r.lat)
	for _, n := range seen {
		r.received++
		r.dups += n - 1
	}
	r.lost = r.sent - r.received
	return r, nil
}

// stream opens one SSE stream for user; it reports (nil) once the stream is open, then
// calls onEvent with the request id of each notification until ctx ends.
func stream(ctx context.Context, o options, user string, onEvent func(string)) error {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte(o.secret))
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.streamURL+"/api/v1/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("open stream: status %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() { // the server flushes a comment once subscribed
		if sc.Text() == ": ok" {
			break
		}
	}
	go func() {
		defer resp.Body.Close()
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var n struct {
					RequestID string `json:"request_id"`
				}
				if json.Unmarshal([]byte(data), &n) == nil {
					onEvent(n.RequestID)
				}
			}
		}
	}()
	return nil
}

func publish(ctx context.Context, c *http.Client, url, user, requestID string) error {
	job, _ := json.Marshal(map[string]string{"request_id": requestID, "user_id": user, "status": "completed",
		"video_url": "https://cdn.example/v/" + requestID + ".mp4"})
	body, _ := json.Marshal(map[string]any{"message": map[string]any{"data": base64.StdEncoding.EncodeToString(job), "messageId": requestID}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", requestID)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", "google.cloud.pubsub.topic.v1.messagePublished")
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/local/topics/content-job-finished")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish: status %s", resp.Status)
	}
	return nil
}
