package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// These tests drive Publish as Cloud Functions does (the Functions Framework serving
// FUNCTION_TARGET=Publish, publishURL) against the real redis-server of TestMain, and
// read what it stored with a broker's After on each source, as the stream service does.
// Each test uses its own user and group ids (runID), so none sees another's logs; the
// broadcast log is shared, so tests compare its length before and after.

// runID makes ids unique to one run of one test.
func runID() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }

// deliverTo posts data to url as Eventarc does (binary mode, ce-id = messageID) and
// returns the status.
func deliverTo(t testing.TB, url, messageID string, data []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(eventarc.PushBody(data, messageID, time.Now())))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", messageID)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", eventarc.EventType)
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/p/topics/notifications")
	return post(t, req)
}

// deliverStructured posts data as a structured-mode CloudEvent.
func deliverStructured(t *testing.T, url, messageID string, data []byte) int {
	t.Helper()
	ce, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": messageID, "type": eventarc.EventType,
		"source": "//pubsub.googleapis.com/projects/p/topics/notifications", "datacontenttype": "application/json",
		"data": json.RawMessage(eventarc.PushBody(data, messageID, time.Now()))})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(ce))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	return post(t, req)
}

func openBroker(t testing.TB) *redisbroker.Broker {
	t.Helper()
	b, err := redisbroker.Open(config.Redis{Addr: server.Addr, KeyPrefix: "notifications"}, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// stored returns what source's log holds.
func stored(t testing.TB, b *redisbroker.Broker, source string) []notification.Envelope {
	t.Helper()
	es, err := b.After(context.Background(), source, "0-0", 2000)
	if err != nil {
		t.Fatalf("After(%s): %v", source, err)
	}
	return es
}

func announce(t testing.TB, audience map[string]any, edit map[string]any) []byte {
	t.Helper()
	m := map[string]any{"type": "announcement", "severity": "warning", "audience": audience,
		"title": "Maintenance\ntonight", "body": "Videos pause 22:00–22:30.", "link": "https://status.example/m/1",
		"expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}
	for k, v := range edit {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkOne checks that source's log holds exactly one notification, the one announce
// makes, under an id that names the log, and returns its id.
func checkOne(t *testing.T, b *redisbroker.Broker, source string) string {
	t.Helper()
	es := stored(t, b, source)
	if len(es) != 1 {
		t.Fatalf("%s's log holds %d notifications, want 1", source, len(es))
	}
	var got map[string]any
	if err := json.Unmarshal(es[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	if got["id"] != es[0].ID || !strings.HasPrefix(es[0].ID, broker.ItemPrefix(source)) {
		t.Errorf("%s: id %q (data id %v), want the prefix %q", source, es[0].ID, got["id"], broker.ItemPrefix(source))
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(got["created_at"])); err != nil || es[0].ExpiresAt.IsZero() {
		t.Errorf("%s: created_at %v, expires_at %v", source, got["created_at"], es[0].ExpiresAt)
	}
	for _, k := range []string{"id", "created_at", "expires_at"} {
		delete(got, k)
	}
	want := map[string]any{"type": "announcement", "severity": "warning", "title": "Maintenance tonight",
		"body": "Videos pause 22:00–22:30.", "link": "https://status.example/m/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: stored notification (-want +got):\n%s", source, diff)
	}
	return es[0].ID
}

// TestPublishOverHTTP: a user list, a group list and a broadcast each land in exactly
// their logs, once, however often Pub/Sub delivers them.
func TestPublishOverHTTP(t *testing.T) {
	b := openBroker(t)
	run := runID()
	u1, u2, u3, g1, g2 := "pu1-"+run, "pu2-"+run, "pu3-"+run, "pg1-"+run, "pg2-"+run

	t.Run("users", func(t *testing.T) {
		data := announce(t, map[string]any{"users": []string{u1, u2, u1, u3}}, nil) // u1 twice: delivered once
		for _, send := range []func() int{
			func() int { return deliverTo(t, publishURL, "pm-users-"+run, data) },
			func() int { return deliverTo(t, publishURL, "pm-users-"+run, data) }, // redelivery
			func() int { return deliverStructured(t, publishURL, "pm-users-"+run, data) },
		} {
			if got := send(); got != http.StatusOK {
				t.Fatalf("status %d, want 200", got)
			}
		}
		for _, u := range []string{u1, u2, u3} {
			checkOne(t, b, u)
		}
	})
	t.Run("group", func(t *testing.T) {
		data := announce(t, map[string]any{"groups": []string{g1, g2}}, nil)
		for range 2 {
			if got := deliverTo(t, publishURL, "pm-group-"+run, data); got != http.StatusOK {
				t.Fatalf("status %d, want 200", got)
			}
		}
		for _, g := range []string{g1, g2} {
			checkOne(t, b, broker.GroupSource(g))
		}
		if n := len(stored(t, b, u1)); n != 1 {
			t.Errorf("a group announcement reached %s's own log: it holds %d", u1, n)
		}
	})
	t.Run("everyone", func(t *testing.T) {
		before := stored(t, b, broker.Everyone)
		data := announce(t, map[string]any{"all": true}, nil)
		for range 2 {
			if got := deliverTo(t, publishURL, "pm-all-"+run, data); got != http.StatusOK {
				t.Fatalf("status %d, want 200", got)
			}
		}
		after := stored(t, b, broker.Everyone)
		if len(after) != len(before)+1 {
			t.Fatalf("broadcast log grew by %d, want 1 (one write, not one per user)", len(after)-len(before))
		}
		if !strings.HasPrefix(after[len(after)-1].ID, broker.Everyone+":") {
			t.Errorf("broadcast id %q", after[len(after)-1].ID)
		}
		for _, s := range []string{u1, u2, u3, broker.GroupSource(g1)} {
			if n := len(stored(t, b, s)); n != 1 {
				t.Errorf("a broadcast was written to %s: it holds %d", s, n)
			}
		}
	})
	t.Run("the job path is unchanged", func(t *testing.T) {
		// A job event sent to Publish is not an announcement: refused, nothing stored.
		job := fmt.Sprintf(`{"request_id":"r","user_id":%q,"status":"completed","video_url":"https://c.example/v.mp4"}`, u1)
		if got := deliverTo(t, publishURL, "pm-job-"+run, []byte(job)); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
		if n := len(stored(t, b, u1)); n != 1 {
			t.Errorf("Publish stored a job event: %s holds %d", u1, n)
		}
		// And Notify still takes job events (an announcement sent there is refused).
		if got := deliverTo(t, baseURL, "pm-job-"+run, []byte(job)); got != http.StatusOK {
			t.Fatalf("Notify: status %d", got)
		}
		if n := len(stored(t, b, u1)); n != 2 {
			t.Errorf("Notify did not store the job: %s holds %d", u1, n)
		}
	})
}

// rejected reads notify_rejected_total{entry_point="Publish",reason} from the default
// registry, where the production handlers count.
func rejected(t *testing.T, reason string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "notify_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["entry_point"] == PublishEntryPoint && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestPublishRefusedOverHTTP: bad input is acknowledged (2xx, so Pub/Sub does not
// retry it forever), counted, and stores nothing anywhere.
func TestPublishRefusedOverHTTP(t *testing.T) {
	b := openBroker(t)
	run := runID()
	user, group := "pr-u-"+run, "pr-g-"+run
	users := map[string]any{"users": []string{user}}
	big := strings.Repeat("x", notification.MaxDataBytes)
	for i, tc := range []struct {
		name, reason string
		data         []byte
	}{
		{"two audiences", "malformed", announce(t, map[string]any{"users": []string{user}, "all": true}, nil)},
		{"users and groups", "malformed", announce(t, map[string]any{"users": []string{user}, "groups": []string{group}}, nil)},
		{"reserved type", "malformed", announce(t, users, map[string]any{"type": "video_complete"})},
		{"reset type", "malformed", announce(t, users, map[string]any{"type": "reset"})},
		{"bad user id", "malformed", announce(t, map[string]any{"users": []string{user, "u:*"}}, nil)},
		{"bad group id", "malformed", announce(t, map[string]any{"groups": []string{group, "{g}"}}, nil)},
		{"all false", "malformed", announce(t, map[string]any{"all": false}, nil)},
		{"http link", "malformed", announce(t, users, map[string]any{"link": "http://status.example/m/1"})},
		{"unknown severity", "malformed", announce(t, users, map[string]any{"severity": "fatal"})},
		{"no title", "malformed", announce(t, users, map[string]any{"title": nil})},
		{"over 64 KiB", "malformed", announce(t, users, map[string]any{"body": big})},
		{"not JSON", "malformed", []byte("Maintenance tonight")},
		{"already expired", "expired", announce(t, map[string]any{"groups": []string{group}}, map[string]any{"expires_at": "2020-01-01T00:00:00Z"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := len(stored(t, b, broker.Everyone))
			before := rejected(t, tc.reason)
			if got := deliverTo(t, publishURL, fmt.Sprintf("pr-%d-%s", i, run), tc.data); got/100 != 2 {
				t.Fatalf("status %d, want 2xx", got)
			}
			for _, s := range []string{user, broker.GroupSource(group)} {
				if n := len(stored(t, b, s)); n != 0 {
					t.Errorf("refused input stored %d notifications in %s", n, s)
				}
			}
			if n := len(stored(t, b, broker.Everyone)); n != all {
				t.Errorf("refused input grew the broadcast log from %d to %d", all, n)
			}
			if got := rejected(t, tc.reason); got != before+1 {
				t.Errorf("rejected{Publish,%s} went from %v to %v, want +1", tc.reason, before, got)
			}
		})
	}
}

// TestPublishRedisDown: with Redis down Publish answers 5xx (Pub/Sub retries); the
// retry after recovery stores the announcement once.
func TestPublishRedisDown(t *testing.T) {
	run := runID()
	user := "pd-u-" + run
	data := announce(t, map[string]any{"users": []string{user}}, nil)
	server.Stop()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = server.Restart()
		}
	})
	if got := deliverTo(t, publishURL, "pd-"+run, data); got/100 != 5 {
		t.Fatalf("redis down: status %d, want 5xx", got)
	}
	if err := server.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	for range 2 {
		if got := deliverTo(t, publishURL, "pd-"+run, data); got != http.StatusOK {
			t.Fatalf("retry after recovery: status %d", got)
		}
	}
	checkOne(t, openBroker(t), user)
}

// flaky fails every write to the sources in down, as a Redis that went away mid-way
// through a user list would, until healed; everything else goes to the real broker.
type flaky struct {
	notifier.Publisher
	mu   sync.Mutex
	down map[string]bool
}

func (f *flaky) Publish(ctx context.Context, source, messageID string, n notification.Notification) (string, bool, error) {
	f.mu.Lock()
	fail := f.down[source]
	f.mu.Unlock()
	if fail {
		return "", false, fmt.Errorf("publish script for %s: i/o timeout", source)
	}
	return f.Publisher.Publish(ctx, source, messageID, n)
}

func (f *flaky) heal() {
	f.mu.Lock()
	f.down = nil
	f.mu.Unlock()
}

// TestPublishRetryAfterPartialFailure: a delivery to 1,000 users that fails part-way
// (5xx) and is retried by Pub/Sub leaves every user exactly one notification — the
// retry writes only to the users the first attempt had not reached — and a later
// redelivery writes nothing.
func TestPublishRetryAfterPartialFailure(t *testing.T) {
	b := openBroker(t)
	run := runID()
	users := make([]string, 1000)
	for i := range users {
		users[i] = fmt.Sprintf("pp%d-%s", i, run)
	}
	// Redis "goes away" from the 501st user on: the writes to users[0:500] have all
	// started before any of those (in list order) and are allowed to finish.
	pub := &flaky{Publisher: b, down: map[string]bool{}}
	for _, u := range users[500:] {
		pub.down[u] = true
	}
	m := notifier.NewMetrics(prometheus.NewRegistry()).For(PublishEntryPoint)
	h, err := notifier.NewPublish(pub, slog.New(slog.DiscardHandler), m, time.Now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	body := eventarc.PushBody(announce(t, map[string]any{"users": users}, nil), "pp-"+run, time.Now())
	serve := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		return w.Code
	}
	counts := func() (none, one int) {
		for _, u := range users {
			switch n := len(stored(t, b, u)); n {
			case 0:
				none++
			case 1:
				one++
			default:
				t.Fatalf("%s holds %d notifications", u, n)
			}
		}
		return none, one
	}

	if got := serve(); got != http.StatusInternalServerError {
		t.Fatalf("first attempt: status %d, want 500", got)
	}
	if none, firstWritten := counts(); none != 500 || firstWritten != 500 {
		t.Fatalf("after the failure: %d users reached, %d not; want the first 500", firstWritten, none)
	}
	pub.heal()
	if got := serve(); got != http.StatusOK {
		t.Fatalf("retry: status %d", got)
	}
	if none, one := counts(); none != 0 || one != len(users) {
		t.Fatalf("after the retry: %d users without, %d with one", none, one)
	}
	if got := testutil.ToFloat64(m.Writes.WithLabelValues(notification.AudienceUsers)); got != float64(len(users)) {
		t.Errorf("writes = %v over both attempts, want %d (the retry wrote only the missing ones)", got, len(users))
	}
	if got := serve(); got != http.StatusOK {
		t.Fatalf("redelivery: status %d", got)
	}
	if got := testutil.ToFloat64(m.Duplicates); got != 1 {
		t.Errorf("duplicates = %v, want 1 (the redelivery)", got)
	}
	if got := testutil.ToFloat64(m.Writes.WithLabelValues(notification.AudienceUsers)); got != float64(len(users)) {
		t.Errorf("the redelivery wrote again: writes = %v", got)
	}
	counts()
}

// TestPublishThousandUsersOverHTTP measures what an announcement to a 1,000-user list
// costs end to end (Functions Framework, decoding, 1,000 writes to a real Redis at the
// default concurrency) and checks each user has it:
//
//	go test ./functions -run TestPublishThousandUsersOverHTTP -v -count=1
func TestPublishThousandUsersOverHTTP(t *testing.T) {
	b := openBroker(t)
	run := runID()
	users := make([]string, notification.MaxAudienceUsers)
	for i := range users {
		users[i] = fmt.Sprintf("pt%d-%s", i, run)
	}
	data := announce(t, map[string]any{"users": users}, nil)
	const rounds = 5
	var total time.Duration
	for r := range rounds {
		start := time.Now()
		if got := deliverTo(t, publishURL, fmt.Sprintf("pt-%d-%s", r, run), data); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
		total += time.Since(start)
	}
	for _, u := range users {
		if n := len(stored(t, b, u)); n != rounds {
			t.Fatalf("%s holds %d notifications, want %d", u, n, rounds)
		}
	}
	t.Logf("an announcement to %d users: %s per delivery on average over %d (HTTP through the Functions Framework, concurrency %d, redis-server on loopback)",
		len(users), (total / rounds).Round(time.Microsecond), rounds, notifier.DefaultConcurrency)
}

// BenchmarkPublishThousandUsers compares concurrency bounds for a 1,000-user list
// against the real Redis (one op = one announcement = 1,000 writes), on loopback and
// through a proxy that adds a round trip like Memorystore's behind the VPC connector
// (0.5 ms):
//
//	go test ./functions -run '^$' -bench PublishThousandUsers -benchtime 20x
func BenchmarkPublishThousandUsers(b *testing.B) {
	run := runID()
	users := make([]string, notification.MaxAudienceUsers)
	for i := range users {
		users[i] = fmt.Sprintf("pb%d-%s", i, run)
	}
	data := announce(b, map[string]any{"users": users}, nil)
	for _, rtt := range []time.Duration{0, 500 * time.Microsecond} {
		addr := server.Addr
		if rtt > 0 {
			addr = delayProxy(b, server.Addr, rtt/2)
		}
		rb, err := redisbroker.Open(config.Redis{Addr: addr, KeyPrefix: "notifications"}, broker.DefaultLimits, redisbroker.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { rb.Close() })
		for _, c := range []int{1, 4, 8, 16, 32} {
			b.Run(fmt.Sprintf("rtt=%s/concurrency=%d", rtt, c), func(b *testing.B) {
				m := notifier.NewMetrics(prometheus.NewRegistry())
				h, err := notifier.NewPublish(rb, slog.New(slog.DiscardHandler), m,
					time.Now, time.Hour, notifier.WithConcurrency(c))
				if err != nil {
					b.Fatal(err)
				}
				i := 0
				for b.Loop() {
					i++
					w := httptest.NewRecorder()
					body := eventarc.PushBody(data, fmt.Sprintf("pb-%d-%d-%d-%s", rtt.Microseconds(), c, i, run), time.Now())
					h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
				if got := testutil.ToFloat64(m.For(PublishEntryPoint).Writes.WithLabelValues(notification.AudienceUsers)); got != float64(i*len(users)) {
					b.Fatalf("%v writes, want %d", got, i*len(users))
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(i)/float64(len(users)), "µs/write")
			})
		}
	}
}

// delayProxy forwards TCP connections to addr, holding each chunk for delay in each
// direction, and returns its own address. It stands in for a network between the
// function and Redis; it lives until the benchmark ends.
func delayProxy(b *testing.B, addr string, delay time.Duration) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				time.Sleep(delay)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return l.Addr().String()
}
