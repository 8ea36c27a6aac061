package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// publishAll posts notifications to the publish endpoints at o.rate for o.duration
// (or, with -publish-only, as fast as they answer) and returns the user of each
// sequence number. Each request id carries its sequence number, the time the publish
// was due by the schedule and the time it was sent. Each endpoint gets o.inflight
// requests at a time; a publish waits for a free slot, and that wait shows in the
// latency from the schedule.
func publishAll(ctx context.Context, o options, s *summary) ([]string, error) {
	endpoints := strings.Split(o.function, ",")
	publishers := len(endpoints) * o.inflight
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.inflight}}
	type job struct {
		seq  int
		user string
		due  time.Time
	}
	jobs := make(chan job, publishers)
	var failedMu sync.Mutex
	var failed []int // their outcome is unknown: not expected, not counted
	var answer []int64
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int64
			for j := range jobs {
				sent := time.Now()
				err := publish(ctx, client, o, endpoints[p%len(endpoints)], j.user, j.seq, j.due)
				mine = append(mine, time.Since(sent).Nanoseconds())
				if err != nil {
					failedMu.Lock()
					if len(failed) == 0 {
						s.PublishError = err.Error()
					}
					failed = append(failed, j.seq)
					failedMu.Unlock()
				}
			}
			failedMu.Lock()
			answer = append(answer, mine...)
			failedMu.Unlock()
		}()
	}
	var users []string // user of each sequence number
	start := time.Now()
	interval := time.Duration(float64(time.Second) / o.rate)
	total := int(o.rate * o.duration.Seconds())
	for seq := 0; ; seq++ {
		due := time.Now()
		if o.publishOnly {
			if time.Since(start) >= o.duration {
				break
			}
		} else if seq == total {
			break
		} else {
			due = start.Add(time.Duration(seq) * interval)
			time.Sleep(time.Until(due))
		}
		users = append(users, userName(seq%o.users))
		select {
		case jobs <- job{seq: seq, user: users[seq], due: due}:
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return nil, ctx.Err()
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	for _, seq := range failed {
		users[seq] = ""
	}
	s.Published = len(users)
	s.PublishFailed = len(failed)
	s.PublishedPerSecond = float64(len(users)) / elapsed
	s.PublishAnswer = percentiles(answer, 1e6)
	return users, nil
}

// requestID is what the receiving worker reads back: lt-<seq>-<sent>-<due>, times in
// unix nanoseconds.
func requestID(seq int, sent, due time.Time) string {
	return fmt.Sprintf("lt-%d-%d-%d", seq, sent.UnixNano(), due.UnixNano())
}

func publish(ctx context.Context, c *http.Client, o options, url, user string, seq int, due time.Time) error {
	sent := time.Now()
	rid := requestID(seq, sent, due)
	var req *http.Request
	if o.system == systemCentrifugo {
		req = centrifugoPublish(ctx, url, o.apiKey, user, rid, sent)
	} else {
		job, _ := json.Marshal(map[string]string{"request_id": rid, "user_id": user, "status": "completed",
			"video_url": "https://cdn.example/v/" + rid + ".mp4", "title": "Load test"})
		body := eventarc.PushBody(job, rid, sent)
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("ce-id", rid)
		req.Header.Set("ce-specversion", "1.0")
		req.Header.Set("ce-type", eventarc.EventType)
		req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/local/topics/content-job-finished")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish answered %s", resp.Status)
	}
	if o.system == systemCentrifugo {
		return centrifugoReplyError(reply)
	}
	return nil
}
