package dashboard

import (
	"bufio"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/listenfd"
	"github.com/vividly-edu/notifications/shared/redistest"
)

var streamBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dashboard")
	if err != nil {
		panic(err)
	}
	streamBin = filepath.Join(dir, "stream")
	if out, err := exec.Command("go", "build", "-o", streamBin, "github.com/vividly-edu/notifications/stream/cmd/stream").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build bin/stream: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cloudMetric names metrics Google Cloud Monitoring exports for Memorystore, which
// Managed Prometheus queries as domain:metric; no binary of ours serves them.
var cloudMetric = regexp.MustCompile(`^redis_googleapis_com:`)

// TestDashboardQueriesExportedMetrics starts two bin/stream on one host with
// METRICS_ADDR unset (both must start: B6), scrapes each one's /metrics and fails when
// a panel's PromQL names a metric neither exports.
func TestDashboardQueriesExportedMetrics(t *testing.T) {
	exprs := dashboardExprs(t, "../../dashboards/notifications.json")
	redis := redistest.Start(t, redistest.Options{})
	exported := map[string]bool{}
	for range 2 {
		public, metrics := startStream(t, redis.Addr)
		// A request without credentials is refused and counted, so the by-reason
		// refusal counter has a series to export.
		refuse(t, public)
		for name := range scrape(t, metrics) {
			exported[name] = true
		}
	}
	if !exported["sse_active_connections"] || !exported["push_sent_total"] {
		t.Fatalf("scrape is missing the stream's own metrics: %d names", len(exported))
	}
	for _, e := range exprs {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("no metric found in %q", e)
		}
		for _, n := range names {
			if !exported[n] && !cloudMetric.MatchString(n) {
				t.Errorf("panel query %q names %s, which no binary exports", e, n)
			}
		}
	}
}

// TestMetricNames: the extraction the check relies on finds metrics and only metrics.
func TestMetricNames(t *testing.T) {
	got := metricNames(`histogram_quantile(0.99, sum by (le, reason) (rate(a_seconds_bucket{x="y"}[5m]))) / on(b) b_total`)
	if strings.Join(got, ",") != "a_seconds_bucket,b_total" {
		t.Fatalf("metricNames: %q", got)
	}
}

func dashboardExprs(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

var (
	grouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	noise    = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|"[^"]*"`)
	ident    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
)

// metricNames is every metric a PromQL expression selects: identifiers that are not
// functions (followed by "("), grouping labels, label matchers or ranges.
func metricNames(expr string) []string {
	expr = noise.ReplaceAllString(grouping.ReplaceAllString(expr, ""), "")
	var names []string
	for _, m := range ident.FindAllString(expr, -1) {
		if !strings.HasSuffix(m, "(") && m != "by" && m != "on" {
			names = append(names, m)
		}
	}
	return names
}

var metricsLine = regexp.MustCompile(`metrics listening.*?addr[=":]+([0-9.]+:[0-9]+)`)

// startStream runs bin/stream with METRICS_ADDR and K_SERVICE unset and Web Push on, and
// returns its public address and the metrics address it logs.
func startStream(t *testing.T, redisAddr string) (public, metrics string) {
	t.Helper()
	public, metrics, out := launchStream(t, redisAddr)
	if metrics == "" {
		t.Fatalf("bin/stream did not serve metrics; its output:\n%s", out)
	}
	return public, metrics
}

// launchStream starts one bin/stream on a public listener bound here and handed over
// (LISTEN_FD: no other program can take the port in between), and returns its public
// and metrics addresses, or empty ones and what it printed when it exited (or logged
// no metrics address in 20 s).
func launchStream(t *testing.T, redisAddr string) (public, metrics, output string) {
	t.Helper()
	f, public, err := listenfd.Bind("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child holds the socket once started
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(streamBin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "METRICS_ADDR=") && !strings.HasPrefix(kv, "K_SERVICE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(cmd.Env, "LISTEN_FD=3", "REDIS_ADDR="+redisAddr, "JWT_SECRET=dashboard-secret-dashboard-secret-0",
		"VAPID_PUBLIC_KEY="+base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		"VAPID_PRIVATE_KEY="+base64.RawURLEncoding.EncodeToString(k.Bytes()), "VAPID_SUBJECT=mailto:tests@vividly.example")
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	found := make(chan string, 1)
	var mu sync.Mutex
	var out strings.Builder
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := metricsLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	select {
	case addr := <-found:
		return public, addr, ""
	case <-exited:
		mu.Lock()
		defer mu.Unlock()
		return "", "", out.String()
	case <-time.After(20 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		return "", "", out.String() + "(no metrics address logged in 20 s)\n"
	}
}

// refuse asks the history API without credentials until the server answers (it may
// log its metrics address before its public listener is up) and wants a 401.
func refuse(t *testing.T, public string) {
	t.Helper()
	for range 100 {
		resp, err := http.Get("http://" + public + "/api/v1/notifications")
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("history without credentials: %d", resp.StatusCode)
		}
		return
	}
	t.Fatalf("%s never answered", public)
}

// scrape returns the sample names of one /metrics page.
func scrape(t *testing.T, addr string) map[string]bool {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %v", addr, resp.StatusCode, err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	return names
}
