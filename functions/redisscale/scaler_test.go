package redisscale

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	instanceName = "projects/p/locations/us-central1/instances/vividly-notify-prod"
	clusterName  = "projects/p/locations/us-central1/clusters/vividly-notify-prod"
)

func TestScale(t *testing.T) {
	t.Parallel()
	op := "projects/p/locations/us-central1/operations/op-1"
	for _, tc := range []struct {
		name           string
		api            spec
		min, max, step int
		want           Result
		wantPatches    []int
	}{
		{"instance one GB up", spec{name: instanceName, field: "memorySizeGb", state: "READY", size: 5}, 5, 10, 1,
			Result{From: 5, To: 6, Unit: "GB", State: "READY", Operation: op}, []int{6}},
		{"cluster two shards up, capped at the ceiling", spec{name: clusterName, field: "shardCount", state: "ACTIVE", size: 3}, 3, 4, 2,
			Result{From: 3, To: 4, Unit: "shards", State: "ACTIVE", Operation: op}, []int{4}},
		{"below the floor goes straight to it", spec{name: instanceName, field: "memorySizeGb", state: "READY", size: 2}, 5, 10, 1,
			Result{From: 2, To: 5, Unit: "GB", State: "READY", Operation: op}, []int{5}},
		{"at the ceiling: no PATCH", spec{name: clusterName, field: "shardCount", state: "ACTIVE", size: 8}, 3, 8, 1,
			Result{From: 8, To: 8, Unit: "shards", State: "ACTIVE", Skipped: skippedCeiling}, nil},
		{"instance updating: no second step", spec{name: instanceName, field: "memorySizeGb", state: "UPDATING", size: 6}, 5, 10, 1,
			Result{From: 6, To: 6, Unit: "GB", State: "UPDATING", Skipped: "state is not READY (an update is in progress)"}, nil},
		{"a cluster is ready when ACTIVE, not READY", spec{name: clusterName, field: "shardCount", state: "READY", size: 3}, 3, 8, 1,
			Result{From: 3, To: 3, Unit: "shards", State: "READY", Skipped: "state is not ACTIVE (an update is in progress)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newFake(t, tc.api)
			got, err := api.start(tc.min, tc.max, tc.step).Scale(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("result (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantPatches, api.sent()); d != "" {
				t.Errorf("PATCHed sizes (-want +got):\n%s", d)
			}
		})
	}
}

// A second alert while the first step runs finds the resource UPDATING and adds
// nothing: steps never stack.
func TestScaleTwiceStepsOnce(t *testing.T) {
	t.Parallel()
	api := newFake(t, spec{name: clusterName, field: "shardCount", state: "ACTIVE", size: 3})
	s := api.start(3, 10, 1)
	for range 2 {
		if _, err := s.Scale(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]int{4}, api.sent()); d != "" {
		t.Errorf("PATCHed sizes (-want +got):\n%s", d)
	}
}

func TestScaleErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		get, patch    int
		wantPermanent bool
	}{
		{"no permission to update is permanent", 0, http.StatusForbidden, true},
		{"a refused request is permanent", 0, http.StatusBadRequest, true},
		{"an unknown resource is permanent", http.StatusNotFound, 0, true},
		{"API unavailable is retried", http.StatusServiceUnavailable, 0, false},
		{"quota exceeded is retried", 0, http.StatusTooManyRequests, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newFake(t, spec{name: instanceName, field: "memorySizeGb", state: "READY", size: 5})
			api.getStatus, api.patchStatus = tc.get, tc.patch
			_, err := api.start(5, 10, 1).Scale(context.Background())
			if err == nil {
				t.Fatal("Scale succeeded")
			}
			if got := errors.Is(err, ErrPermanent); got != tc.wantPermanent {
				t.Errorf("errors.Is(%v, ErrPermanent) = %v, want %v", err, got, tc.wantPermanent)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]Kind{instanceName: Instance, clusterName: Cluster} {
		if got, err := KindOf(name); err != nil || got != want {
			t.Errorf("KindOf(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, bad := range []string{"", "projects/p/locations/l/instances/", "projects/p/locations/l/backups/b", "projects/p/instances/i", "x/p/locations/l/instances/i"} {
		if _, err := KindOf(bad); err == nil {
			t.Errorf("KindOf(%q) accepted", bad)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	got, err := LoadConfig(env(map[string]string{"SCALE_RESOURCE": clusterName, "SCALE_MIN": "3", "SCALE_MAX": "12"}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Config{Resource: clusterName, Min: 3, Max: 12, Step: 1, Endpoint: DefaultEndpoint}, got); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
	for name, m := range map[string]map[string]string{
		"no resource":     {"SCALE_MIN": "1", "SCALE_MAX": "2"},
		"no max":          {"SCALE_RESOURCE": instanceName, "SCALE_MIN": "1"},
		"max below min":   {"SCALE_RESOURCE": instanceName, "SCALE_MIN": "5", "SCALE_MAX": "4"},
		"zero step":       {"SCALE_RESOURCE": instanceName, "SCALE_MIN": "1", "SCALE_MAX": "4", "SCALE_STEP": "0"},
		"min not a count": {"SCALE_RESOURCE": instanceName, "SCALE_MIN": "1.5", "SCALE_MAX": "4"},
	} {
		if _, err := LoadConfig(env(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
