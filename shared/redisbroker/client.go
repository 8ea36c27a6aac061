// Package redisbroker is the broker over Redis: one Lua script stores and publishes a
// notification (dedupe marker, capped per-user Stream, PUBLISH), and one multiplexed
// pub/sub connection per process carries live notifications for all local users.
package redisbroker

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/config"
)

// NewClient returns a client for cfg. It does not dial: the first command does.
func NewClient(cfg config.Redis) (*redis.Client, error) {
	if cfg.Addr == "" {
		return nil, errors.New("config: REDIS_ADDR is required")
	}
	opt := &redis.Options{
		Addr:     cfg.Addr,
		Password: string(cfg.Password),
		// Memorystore rejects CLIENT SETINFO.
		DisableIdentity: true,
		DialTimeout:     2 * time.Second,
		// A pipeline's replies are read within ReadTimeout, whatever its commands: one
		// that ends with WAIT needs its timeout on top.
		ReadTimeout:  2*time.Second + time.Duration(cfg.ReplicaAckTimeout),
		WriteTimeout: 2 * time.Second,
		// The function is retried by Pub/Sub; one fast failure beats a slow success.
		MaxRetries: 1,
	}
	if cfg.TLSCA != "" {
		tc, err := tlsConfig(cfg.TLSCA)
		if err != nil {
			return nil, err
		}
		opt.TLSConfig = tc
	}
	return redis.NewClient(opt), nil
}

// tlsConfig trusts only the CA certificates in caFile. Memorystore's server certificate
// names its IP in the subject CN rather than a SAN, which Go's hostname check ignores, so
// the chain is verified against that private, per-instance CA and the name is not: only
// the instance that CA signed can present a chain to it.
func tlsConfig(caFile string) (*tls.Config, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("config: REDIS_TLS_CA: %w", err)
	}
	pool, err := caPool(data)
	if err != nil {
		return nil, fmt.Errorf("config: REDIS_TLS_CA: %s: %w", caFile, err)
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyConnection below, which checks the chain
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("redis tls: no server certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		},
	}, nil
}

// caPool trusts every certificate of a PEM bundle. Memorystore lists more than one CA
// while it rotates them, and the file holds them all. x509's AppendCertsFromPEM
// succeeds if any one parses, and PEM decoding stops at two certificates run together
// without a newline, so such a bundle would quietly trust only the certificates
// before the join and fail at the rotation; here every BEGIN marker must yield a
// certificate, and start-up says which file is wrong.
func caPool(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	want := bytes.Count(data, []byte("-----BEGIN "))
	got := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, not CERTIFICATE", got+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", got+1, err)
		}
		pool.AddCert(cert)
		got++
	}
	switch {
	case got == 0:
		return nil, errors.New("holds no PEM certificate")
	case got != want:
		return nil, fmt.Errorf("%d PEM blocks begin but only %d parse (certificates must be separated by a newline)", want, got)
	}
	return pool, nil
}
