package server

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := LoadConfig(context.Background(), get(map[string]string{"JWT_SECRET": "x"}))
	if err != nil || c.Port != "8080" || c.Heartbeat != 15*time.Second || c.MaxConnAge != 55*time.Minute || c.JWTUserClaim != "sub" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	for name, tc := range map[string]struct{ env map[string]string }{
		"HEARTBEAT_INTERVAL": {map[string]string{"HEARTBEAT_INTERVAL": "1ms"}},
		"MAX_CONN_AGE":       {map[string]string{"MAX_CONN_AGE": "10ms"}},
		"CONN_QUEUE_SIZE":    {map[string]string{"CONN_QUEUE_SIZE": "0"}},
		"DRAIN_TIME":         {map[string]string{"DRAIN_TIME": "20s"}},
		"JWT_JWKS_URL":       {map[string]string{"JWT_JWKS_URL": "ftp://issuer.example/jwks"}},
		"ALLOWED_ORIGINS":    {map[string]string{"ALLOWED_ORIGINS": "https://a.example,*"}},
		"TICKET_TTL":         {map[string]string{"TICKET_TTL": "1h"}},
		"MAX_CONNS_PER_USER": {map[string]string{"MAX_CONNS_PER_USER": "0"}},
		"RATE_LIMIT_PER_IP":  {map[string]string{"RATE_LIMIT_PER_IP": "-1"}},
		"LOG_LEVEL":          {map[string]string{"LOG_LEVEL": "loud"}},
	} {
		_, err := LoadConfig(context.Background(), get(tc.env))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name it", name, err)
		}
	}
}
