package redisscale

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/oauth2/google"
)

// DefaultEndpoint is the Memorystore for Redis REST API (instances and clusters alike).
const DefaultEndpoint = "https://redis.googleapis.com/v1/"

// Config is the function's environment:
//
//	SCALE_RESOURCE      projects/P/locations/L/instances/ID or …/clusters/ID (required)
//	SCALE_MIN           the floor, GB or shards (required, ≥ 1)
//	SCALE_MAX           the ceiling, GB or shards (required, ≥ SCALE_MIN)
//	SCALE_STEP          how much one alert adds (default 1)
//	REDIS_API_ENDPOINT  tests only: a stand-in for DefaultEndpoint
type Config struct {
	Resource       string
	Min, Max, Step int
	Endpoint       string
}

// LoadConfig reads and checks the environment.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{Resource: getenv("SCALE_RESOURCE"), Endpoint: getenv("REDIS_API_ENDPOINT"), Step: 1}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if _, err := KindOf(c.Resource); err != nil {
		return Config{}, fmt.Errorf("SCALE_RESOURCE: %w", err)
	}
	for _, v := range []struct {
		name     string
		to       *int
		required bool
	}{{"SCALE_MIN", &c.Min, true}, {"SCALE_MAX", &c.Max, true}, {"SCALE_STEP", &c.Step, false}} {
		s := getenv(v.name)
		if s == "" && !v.required {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return Config{}, fmt.Errorf("%s must be a whole number of at least 1, not %q", v.name, s)
		}
		*v.to = n
	}
	if c.Max < c.Min {
		return Config{}, fmt.Errorf("SCALE_MAX (%d) is below SCALE_MIN (%d)", c.Max, c.Min)
	}
	return c, nil
}

// NewScaler builds the production Scaler: requests carry an OAuth2 token of the
// function's service account (Application Default Credentials, cloud-platform scope,
// which the Memorystore API requires); a test endpoint gets an unauthenticated client.
func NewScaler(ctx context.Context, c Config) (*Scaler, error) {
	client := http.DefaultClient
	if c.Endpoint == DefaultEndpoint {
		var err error
		if client, err = google.DefaultClient(ctx, "https://www.googleapis.com/auth/cloud-platform"); err != nil {
			return nil, fmt.Errorf("credentials for the Memorystore API: %w", err)
		}
	}
	return &Scaler{Client: client, Endpoint: c.Endpoint, Resource: c.Resource, Min: c.Min, Max: c.Max, Step: c.Step}, nil
}
