// Package e2e runs the whole path from the content pipeline's Pub/Sub publish to the
// browser's socket: Pub/Sub (pstest) → an Eventarc stand-in that pushes CloudEvents over
// HTTP → the function (Functions Framework) → Redis → the stream service → SSE client.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
	"github.com/vividly-edu/notifications/stream/server"
)

const (
	project = "vividly-test"
	topic   = "projects/" + project + "/topics/content-generation-complete"
	subName = "projects/" + project + "/subscriptions/eventarc-notify"
	secret  = "e2e-secret-e2e-secret-e2e-secret-0"
)

// The Functions Framework keeps one global registry per process, so the function server
// is started once per test binary and calls whichever handler the running test stored.
var (
	handler      atomic.Pointer[notifier.Handler]
	functionOnce sync.Once
	functionAt   string
)

func functionAddr(t *testing.T) string {
	functionOnce.Do(func() {
		os.Unsetenv("FUNCTION_TARGET")
		err := funcframework.RegisterHTTPFunctionContext(context.Background(), "/",
			func(w http.ResponseWriter, r *http.Request) { handler.Load().ServeHTTP(w, r) })
		if err != nil {
			t.Fatal(err)
		}
		functionAt = freeAddr(t)
		host, port, _ := net.SplitHostPort(functionAt)
		go func() { _ = funcframework.StartHostPort(host, port) }()
	})
	return functionAt
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestPubSubToBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	redisSrv := redistest.Start(t, redistest.Options{})
	names := rediskey.Names{Prefix: "e2e"}
	newBroker := func() *redisbroker.Broker {
		rdb, err := redisbroker.NewClient(config.Redis{Addr: redisSrv.Addr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		b, err := redisbroker.New(rdb, names, broker.DefaultLimits, redisbroker.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The function, served by the Functions Framework at "/".
	h, err := notifier.New(newBroker(), log, notifier.NewMetrics(prometheus.NewRegistry()), time.Now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	handler.Store(h)
	fnAddr := functionAddr(t)

	// The stream service.
	cfg, err := server.LoadConfig(ctx, func(k string) string {
		return map[string]string{"JWT_SECRET": secret, "DRAIN_TIME": "100ms", "METRICS_ADDR": "off"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	deps, err := server.RedisDeps(ctx, cfg, newBroker())
	if err != nil {
		t.Fatal(err)
	}
	srv, _, err := server.Build(cfg, deps, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ctx, ln) }()

	// Pub/Sub: the pipeline's topic and the subscription Eventarc would own.
	ps := pstest.NewServer()
	defer ps.Close()
	conn, err := grpc.NewClient(ps.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client, err := pubsub.NewClient(ctx, project, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pb.Subscription{Name: subName, Topic: topic, AckDeadlineSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	acks := make(chan int, 16)
	recvDone := make(chan struct{})
	go func() { defer close(recvDone); eventarc(ctx, t, client, "http://"+fnAddr+"/", acks) }()
	defer func() { cancel(); <-recvDone }() // stop pulling before the client closes

	// A student's browser.
	frames := openStream(ctx, t, "http://"+ln.Addr().String(), "6f1c2a8e-3b7d-4e0f-9c1a-5d2e8b7f4a31")

	// The pipeline publishes a malformed job and a finished one.
	pub := client.Publisher(topic)
	defer pub.Stop()
	for _, data := range []string{
		`{"request_id":"r-bad","user_id":"u:*","status":"completed"}`,
		`{"request_id":"0b9f5c1e","user_id":"6f1c2a8e-3b7d-4e0f-9c1a-5d2e8b7f4a31","status":"completed","video_url":"https://cdn.example/v/0b9f5c1e.mp4","title":"Photosynthesis"}`,
	} {
		if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte(data)}).Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var n map[string]any
	select {
	case f := <-frames:
		if err := json.Unmarshal([]byte(f), &n); err != nil {
			t.Fatalf("frame data %q: %v", f, err)
		}
	case <-ctx.Done():
		t.Fatal("no notification reached the browser")
	}
	if n["type"] != "video_complete" || n["request_id"] != "0b9f5c1e" || n["video_url"] != "https://cdn.example/v/0b9f5c1e.mp4" || n["title"] != "Photosynthesis" {
		t.Fatalf("browser received %v", n)
	}
	// Both deliveries were acknowledged (the malformed one too: it must not be retried).
	for range 2 {
		select {
		case status := <-acks:
			if status/100 != 2 {
				t.Fatalf("function answered %d", status)
			}
		case <-ctx.Done():
			t.Fatal("deliveries not acknowledged")
		}
	}
	select {
	case f := <-frames:
		t.Fatalf("unexpected second frame %s", f)
	case <-time.After(300 * time.Millisecond):
	}
}

// eventarc pulls the subscription and pushes each message to url as a binary-mode
// CloudEvent, acknowledging on 2xx and nacking otherwise, as Eventarc does.
func eventarc(ctx context.Context, t *testing.T, c *pubsub.Client, url string, statuses chan<- int) {
	err := c.Subscriber(subName).Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
		body, _ := json.Marshal(map[string]any{"message": map[string]any{
			"data": base64.StdEncoding.EncodeToString(m.Data), "attributes": m.Attributes, "messageId": m.ID,
			"message_id": m.ID, "publishTime": m.PublishTime.Format(time.RFC3339Nano)}, "subscription": subName})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("ce-id", m.ID)
		req.Header.Set("ce-specversion", "1.0")
		req.Header.Set("ce-type", "google.cloud.pubsub.topic.v1.messagePublished")
		req.Header.Set("ce-source", "//pubsub.googleapis.com/"+topic)
		req.Header.Set("ce-time", m.PublishTime.Format(time.RFC3339Nano))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			m.Nack()
			return
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			m.Ack()
		} else {
			m.Nack()
		}
		statuses <- resp.StatusCode
	})
	if err != nil && ctx.Err() == nil {
		t.Errorf("receive: %v", err)
	}
}

// openStream opens an SSE stream for user and returns its data lines.
func openStream(ctx context.Context, t *testing.T, base, user string) <-chan string {
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
	var resp *http.Response
	for i := 0; ; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/notifications/stream", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		var err error
		resp, err = http.DefaultClient.Do(req)
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if i > 100 {
			t.Fatalf("stream did not open: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan string, 8)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != ": ok" {
	}
	go func() {
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- d
			}
		}
	}()
	return out
}
