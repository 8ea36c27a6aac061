package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// The RedisScale entry point is registered, and its production wiring (configuration
// from the environment, the Scaler, the handler) reaches the Memorystore API the
// environment names: here a stand-in that records the PATCH.
func TestScaleEntryPoint(t *testing.T) {
	t.Parallel()
	if err := CheckEntryPoint(ScaleEntryPoint); err != nil {
		t.Fatal(err)
	}
	const name = "projects/p/locations/us-central1/instances/redis"
	var patched []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/"+name {
			t.Errorf("path %q", r.URL.Path)
		}
		if r.Method == http.MethodPatch {
			b, _ := io.ReadAll(r.Body)
			patched = append(patched, r.URL.RawQuery+" "+string(b))
			_, _ = io.WriteString(w, `{"name":"operations/1"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"state": "READY", "memorySizeGb": 5})
	}))
	defer api.Close()
	env := map[string]string{"SCALE_RESOURCE": name, "SCALE_MIN": "5", "SCALE_MAX": "8", "SCALE_STEP": "2",
		"REDIS_API_ENDPOINT": api.URL + "/v1/", "LOG_LEVEL": "error"}
	h, err := newScaleHandler(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"version":"1.2","incident":{"incident_id":"i","state":"open","policy_name":"p"}}`)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(eventarc.PushBody(data, "m1", time.Now()))))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if len(patched) != 1 || patched[0] != `updateMask=memorySizeGb {"memorySizeGb":7}` {
		t.Errorf("PATCHes %q, want one updateMask=memorySizeGb {\"memorySizeGb\":7}", patched)
	}
	if _, err := newScaleHandler(context.Background(), func(k string) string { return map[string]string{"SCALE_RESOURCE": name}[k] }); err == nil {
		t.Error("a configuration without SCALE_MIN/SCALE_MAX was accepted")
	}
}
