// Package redisbroker is the broker over Redis: one Lua script stores and publishes a
// notification (dedupe marker, capped per-user Stream, PUBLISH), and one multiplexed
// pub/sub connection per process carries live notifications for all local users.
package redisbroker

import (
	"bytes"
	"context"
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

// NewClient returns a client for cfg: a *redis.Client in standalone mode, a
// *redis.ClusterClient in cluster mode. It does not dial: the first command does.
func NewClient(cfg config.Redis) (redis.UniversalClient, error) {
	addrs, err := cfg.Addrs()
	if err != nil {
		return nil, err
	}
	var tc *tls.Config
	if cfg.TLSCA != "" {
		if tc, err = tlsConfig(cfg.TLSCA); err != nil {
			return nil, err
		}
	}
	// Memorystore rejects CLIENT SETINFO (DisableIdentity). A pipeline's replies are read
	// within ReadTimeout, whatever its commands: one that ends with WAIT needs its
	// timeout on top. The function is retried by Pub/Sub: one fast failure beats a slow
	// success (MaxRetries).
	readTimeout := 2*time.Second + time.Duration(cfg.ReplicaAckTimeout)
	var creds func(context.Context) (string, string, error)
	if cfg.IAMAuth {
		if cfg.Password != "" {
			return nil, errors.New("config: REDIS_IAM_AUTH and REDIS_PASSWORD are both set: IAM authentication sends a token as the password")
		}
		creds = iamCredentials()
	}
	if cfg.Mode == config.ModeCluster {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: addrs, Password: string(cfg.Password), TLSConfig: tc, DisableIdentity: true,
			DialTimeout: 2 * time.Second, ReadTimeout: readTimeout, WriteTimeout: 2 * time.Second,
			MaxRetries: 1, CredentialsProviderContext: creds,
			// go-redis reloads its slot map on MOVED/ASK, not when a master's address
			// stops answering: with the default (60 s) a failover costs a minute of
			// refused dials (docs/CLUSTER-NOTES.md). One CLUSTER SLOTS a second per
			// client bounds that to about a second.
			ClusterStateReloadInterval: time.Second,
		}), nil
	}
	return redis.NewClient(&redis.Options{
		Addr: addrs[0], Password: string(cfg.Password), TLSConfig: tc, DisableIdentity: true,
		DialTimeout: 2 * time.Second, ReadTimeout: readTimeout, WriteTimeout: 2 * time.Second,
		MaxRetries: 1, CredentialsProviderContext: creds,
	}), nil
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
