package webpush

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// This file is the receiving side of RFC 8291, written from the RFC and independent of
// webpush-go (plain HMAC, not x/crypto's hkdf): the push-service stand-in uses it to
// read every message the Sender produces, and it is itself checked here against the
// RFC's published example (Appendix A).

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

// RFC 8291 Appendix A, base64url as published.
var rfcVector = struct {
	plaintext, body                                  string
	uaPublic, uaPrivate, asPublic, auth, salt        string
	ecdhSecret, prkKey, ikm, prk, cek, nonce, header string
}{
	plaintext: "When I grow up, I want to be a watermelon",
	body: "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
		"mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
		"pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
	uaPublic:   "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
	uaPrivate:  "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
	asPublic:   "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
	auth:       "BTBZMqHH6r4Tts7J_aSIgg",
	salt:       "DGv6ra1nlYgDCS1FRnbzlw",
	ecdhSecret: "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs",
	prkKey:     "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k",
	ikm:        "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg",
	prk:        "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc",
	cek:        "oIhVW04MRdy2XN9CiKLxTg",
	nonce:      "4h_95klXJ5E_qnoN",
	header:     "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := decodeB64URL(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}

func TestRFC8291AppendixA(t *testing.T) {
	t.Parallel()
	v := rfcVector
	ua, err := ecdh.P256().NewPrivateKey(mustB64(t, v.uaPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if got := b64(ua.PublicKey().Bytes()); got != v.uaPublic {
		t.Fatalf("ua_public = %s, want %s", got, v.uaPublic)
	}
	body := mustB64(t, v.body)
	if got := b64(body[:86]); got != v.header {
		t.Errorf("header = %s, want %s", got, v.header)
	}
	d, err := derive(ua, mustB64(t, v.asPublic), mustB64(t, v.auth), mustB64(t, v.salt))
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]string{
		"ecdh_secret": {b64(d.ecdhSecret), v.ecdhSecret}, "prk_key": {b64(d.prkKey), v.prkKey},
		"ikm": {b64(d.ikm), v.ikm}, "prk": {b64(d.prk), v.prk},
		"cek": {b64(d.cek), v.cek}, "nonce": {b64(d.nonce), v.nonce},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %s, want %s", name, pair[0], pair[1])
		}
	}
	plain, err := decrypt(body, uaKeys{priv: ua, auth: mustB64(t, v.auth)})
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != v.plaintext {
		t.Fatalf("plaintext = %q, want %q", plain, v.plaintext)
	}
	// A flipped bit anywhere in the record must fail authentication.
	body[len(body)-20] ^= 1
	if _, err := decrypt(body, uaKeys{priv: ua, auth: mustB64(t, v.auth)}); err == nil {
		t.Fatal("tampered record decrypted")
	}
}
