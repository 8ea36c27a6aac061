package webpushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// This file is the receiving side of RFC 8291, written from the RFC and independent of
// webpush-go (plain HMAC, not x/crypto's hkdf): the stand-in uses it to read every
// message, and decrypt_test.go checks it against the RFC's published example
// (Appendix A).

// uaKeys is what a browser keeps for one subscription.
type uaKeys struct {
	priv *ecdh.PrivateKey
	auth []byte
}

// derived holds the RFC 8291 §3.3-3.4 intermediate values.
type derived struct{ ecdhSecret, prkKey, ikm, prk, cek, nonce []byte }

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// derive computes the keys of RFC 8291 §3.4 for the user agent's side. HKDF with
// outputs of at most one hash length is one HMAC for extract and one for expand (T(1)).
func derive(ua *ecdh.PrivateKey, asPublic, auth, salt []byte) (derived, error) {
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return derived{}, fmt.Errorf("keyid is not a P-256 point: %w", err)
	}
	var d derived
	if d.ecdhSecret, err = ua.ECDH(as); err != nil {
		return derived{}, err
	}
	keyInfo := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), asPublic...)
	d.prkKey = hmacSHA256(auth, d.ecdhSecret)
	d.ikm = hmacSHA256(d.prkKey, keyInfo, []byte{1})
	d.prk = hmacSHA256(salt, d.ikm)
	d.cek = hmacSHA256(d.prk, []byte("Content-Encoding: aes128gcm\x00\x01"))[:16]
	d.nonce = hmacSHA256(d.prk, []byte("Content-Encoding: nonce\x00\x01"))[:12]
	return d, nil
}

// decrypt opens an aes128gcm body (RFC 8188 §2 header salt(16) | rs(4) | idlen(1) |
// keyid(idlen), then one record) as a browser holding ua does.
func decrypt(body []byte, ua uaKeys) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		return nil, fmt.Errorf("keyid of %d bytes, want the 65-byte sender key", idlen)
	}
	keyid, record := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || len(record) > int(rs) || len(record) < 17 {
		return nil, fmt.Errorf("record of %d bytes with rs %d: push messages are one record", len(record), rs)
	}
	d, err := derive(ua.priv, keyid, ua.auth, salt)
	if err != nil {
		return nil, err
	}
	block, _ := aes.NewCipher(d.cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, d.nonce, record, nil)
	if err != nil {
		return nil, fmt.Errorf("aead: %w", err)
	}
	// Padding: the data, then the delimiter 0x02 (last record), then zeros.
	end := bytes.LastIndexFunc(plain, func(r rune) bool { return r != 0 })
	if end < 0 || plain[end] != 2 {
		return nil, errors.New("no final-record padding delimiter")
	}
	return plain[:end], nil
}

// B64 encodes as Web Push does: base64url without padding.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DecodeB64 decodes base64url with or without padding.
func DecodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
