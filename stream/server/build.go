package server

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// Build makes a server from cfg over d, with a registry that also carries the Go
// runtime and process metrics (callers may register more on it).
func Build(cfg Config, d Deps, log *slog.Logger) (*Server, *prometheus.Registry, error) {
	v, err := auth.NewVerifier(auth.Options{Secret: []byte(cfg.JWTSecret), JWKS: d.JWKS, Issuer: cfg.JWTIssuer,
		Audience: cfg.JWTAudience, UserClaim: cfg.JWTUserClaim,
		GroupsClaim: cfg.JWTGroupsClaim, RolesClaim: cfg.JWTRolesClaim})
	if err != nil {
		return nil, nil, err
	}
	if cfg.JWTSecret != "" && auth.WeakSecret([]byte(cfg.JWTSecret)) {
		log.Warn("JWT_SECRET is shorter than 32 bytes; HS256 wants a 256-bit key")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s, err := New(cfg, d, v, log, reg)
	if err != nil {
		return nil, nil, err
	}
	log.Info("stream service configured", "config", slog.AnyValue(cfg))
	return s, reg, nil
}
