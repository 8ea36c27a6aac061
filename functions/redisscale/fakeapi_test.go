package redisscale

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeAPI stands in for redis.googleapis.com/v1: it serves one resource (an instance
// or a cluster) and checks every request against the REST reference:
//
//	GET   /v1/{name}                                    → the resource
//	PATCH /v1/{name}?updateMask=memorySizeGb|shardCount → a long-running Operation
//	      body: the resource with only the masked field, Content-Type application/json
//
// (cloud.google.com/memorystore/docs/redis/reference/rest/v1/projects.locations.instances/patch,
// …/cluster/reference/rest/v1/projects.locations.clusters/patch). Anything else fails
// the test.
type fakeAPI struct {
	t *testing.T
	spec

	getStatus, patchStatus int // 0: 200

	mu      sync.Mutex
	patches []int // the sizes PATCHed, in order
}

// spec is the resource a fakeAPI serves.
type spec struct {
	name  string // projects/P/locations/L/instances|clusters/ID
	field string // memorySizeGb or shardCount
	state string
	size  int
}

func newFake(t *testing.T, s spec) *fakeAPI { return &fakeAPI{t: t, spec: s} }

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/v1/"+f.name {
		f.t.Errorf("request path %q, want /v1/%s", r.URL.Path, f.name)
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.Query()) != 0 {
			f.t.Errorf("GET with a query %q", r.URL.RawQuery)
		}
		if f.getStatus != 0 {
			http.Error(w, `{"error":{"status":"`+http.StatusText(f.getStatus)+`"}}`, f.getStatus)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": f.name, "state": f.state, f.field: f.size})
	case http.MethodPatch:
		q := r.URL.Query()
		if len(q) != 1 || len(q["updateMask"]) != 1 || q.Get("updateMask") != f.field {
			f.t.Errorf("PATCH query %q, want exactly updateMask=%s", r.URL.RawQuery, f.field)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.t.Errorf("PATCH Content-Type %q, want application/json", ct)
		}
		raw, _ := io.ReadAll(r.Body)
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil || len(body) != 1 {
			f.t.Errorf("PATCH body %s: want a JSON object with only %s", raw, f.field)
		}
		var n int
		if err := json.Unmarshal(body[f.field], &n); err != nil {
			f.t.Errorf("PATCH body %s: %s is not an integer", raw, f.field)
		}
		f.patches = append(f.patches, n)
		if f.patchStatus != 0 {
			http.Error(w, `{"error":{"status":"`+http.StatusText(f.patchStatus)+`"}}`, f.patchStatus)
			return
		}
		f.state = "UPDATING" // as the real API does while the operation runs
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"name":"projects/p/locations/us-central1/operations/op-1","done":false}`)
	default:
		f.t.Errorf("method %s", r.Method)
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (f *fakeAPI) sent() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.patches...)
}

// start serves f and returns a Scaler pointed at it.
func (f *fakeAPI) start(min, max, step int) *Scaler {
	f.t.Helper()
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return &Scaler{Client: srv.Client(), Endpoint: srv.URL + "/v1/", Resource: f.name, Min: min, Max: max, Step: step}
}
