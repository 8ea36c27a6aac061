// Package redisscale raises Memorystore's capacity one step when Cloud Monitoring says
// Redis memory runs high: memory_size_gb of a Memorystore for Redis instance, or
// shard_count of a Memorystore for Redis Cluster, through the Memorystore REST API
// (redis.googleapis.com/v1), never above a configured ceiling. Memorystore has no
// autoscaling of its own (docs/RUNBOOK.md, "Redis memory scaling"); this is the
// smallest mechanism that grows Redis before it fills: alert → Pub/Sub → this function.
//
// It only ever grows: shrinking loses nothing by waiting, and an operator decides it.
package redisscale

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrPermanent marks a failure retrying cannot fix (a bad resource name, a refused
// request, no permission): the handler acknowledges it, logged, instead of having
// Pub/Sub redeliver it for a day.
var ErrPermanent = errors.New("permanent")

// Kind is what the resource is, from its name: which field holds its size.
type Kind struct {
	// Collection is the resource name's collection segment: "instances" or "clusters".
	Collection string
	// Field is the JSON field of the size (and the updateMask path, as the REST
	// reference spells it): memorySizeGb for an instance, shardCount for a cluster.
	Field string
	// Unit names the size in logs.
	Unit string
	// Ready is the state an update may start from: an instance's READY, a cluster's
	// ACTIVE (the two APIs name it differently).
	Ready string
}

var (
	// Instance is a Memorystore for Redis instance: PATCH
	// v1/projects/P/locations/L/instances/I?updateMask=memorySizeGb.
	Instance = Kind{Collection: "instances", Field: "memorySizeGb", Unit: "GB", Ready: "READY"}
	// Cluster is a Memorystore for Redis Cluster: PATCH
	// v1/projects/P/locations/L/clusters/C?updateMask=shardCount.
	Cluster = Kind{Collection: "clusters", Field: "shardCount", Unit: "shards", Ready: "ACTIVE"}
)

// KindOf parses a full resource name, projects/P/locations/L/instances|clusters/ID.
func KindOf(name string) (Kind, error) {
	p := strings.Split(name, "/")
	if len(p) != 6 || p[0] != "projects" || p[2] != "locations" || p[1] == "" || p[3] == "" || p[5] == "" {
		return Kind{}, fmt.Errorf("resource %q is not projects/P/locations/L/instances|clusters/ID", name)
	}
	switch p[4] {
	case Instance.Collection:
		return Instance, nil
	case Cluster.Collection:
		return Cluster, nil
	}
	return Kind{}, fmt.Errorf("resource %q is neither an instance nor a cluster", name)
}

// Scaler raises one resource's size by Step, up to Max. Min is a floor: a resource
// found below it is raised straight to it.
type Scaler struct {
	Client   *http.Client // authenticated (OAuth2, cloud-platform scope) in production
	Endpoint string       // "https://redis.googleapis.com/v1/", or a test server's URL
	Resource string       // projects/P/locations/L/instances|clusters/ID
	Min      int
	Max      int
	Step     int
}

// Result is what Scale did.
type Result struct {
	From, To  int
	Unit      string
	State     string // the resource's state when read
	Operation string // the long-running operation the PATCH started; empty if none
	Skipped   string // why nothing was changed; empty if a PATCH was sent
}

// callTimeout bounds one Scale: the read and the PATCH (which only starts the
// long-running operation, so it answers in seconds).
const callTimeout = 30 * time.Second

// skippedCeiling is Result.Skipped when the resource is already at Max.
const skippedCeiling = "at the ceiling"

// resource is the part of an Instance or Cluster this package reads.
type resource struct {
	State        string `json:"state"`
	MemorySizeGb *int   `json:"memorySizeGb"`
	ShardCount   *int   `json:"shardCount"`
}

// Scale reads the resource and, when it is ready (Kind.Ready) and below Max, PATCHes
// its size one step up. A resource that is not ready (an update in progress: this function's own
// previous step, or an operator's) is left alone, so a redelivered or repeated alert
// never stacks a second step on the first.
func (s *Scaler) Scale(ctx context.Context) (Result, error) {
	kind, err := KindOf(s.Resource)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	// Both calls together stay well inside the function's 60 s timeout.
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var r resource
	if err := s.call(ctx, http.MethodGet, s.url(""), nil, &r); err != nil {
		return Result{}, fmt.Errorf("read %s: %w", s.Resource, err)
	}
	size := r.MemorySizeGb
	if kind == Cluster {
		size = r.ShardCount
	}
	if size == nil {
		return Result{}, fmt.Errorf("read %s: %w: no %s in the answer", s.Resource, ErrPermanent, kind.Field)
	}
	res := Result{From: *size, To: *size, Unit: kind.Unit, State: r.State}
	switch {
	case r.State != kind.Ready:
		res.Skipped = "state is not " + kind.Ready + " (an update is in progress)"
		return res, nil
	case *size >= s.Max:
		res.Skipped = skippedCeiling
		return res, nil
	}
	res.To = min(max(*size+s.Step, s.Min), s.Max)
	body, err := json.Marshal(map[string]int{kind.Field: res.To})
	if err != nil {
		return Result{}, err
	}
	var op struct {
		Name string `json:"name"`
	}
	if err := s.call(ctx, http.MethodPatch, s.url(kind.Field), body, &op); err != nil {
		return Result{}, fmt.Errorf("patch %s %s=%d: %w", s.Resource, kind.Field, res.To, err)
	}
	res.Operation = op.Name
	return res, nil
}

// url is the resource's REST URL, with ?updateMask=mask when mask is set.
func (s *Scaler) url(mask string) string {
	u := strings.TrimSuffix(s.Endpoint, "/") + "/" + s.Resource
	if mask != "" {
		u += "?" + url.Values{"updateMask": {mask}}.Encode()
	}
	return u
}

// call sends one request and decodes a 2xx JSON answer into out. 4xx answers other
// than 408 and 429 are permanent (ErrPermanent); everything else may pass.
func (s *Scaler) call(ctx context.Context, method, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		err := fmt.Errorf("%s %s: HTTP %d: %.300s", method, u, resp.StatusCode, bytes.TrimSpace(data))
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return fmt.Errorf("%w: %w", ErrPermanent, err)
		}
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: answer is not JSON: %w", method, u, err)
	}
	return nil
}
