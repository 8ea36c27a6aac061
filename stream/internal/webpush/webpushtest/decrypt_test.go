package webpushtest

import (
	"crypto/ecdh"
	"testing"
)

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
	b, err := DecodeB64(s)
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
	if got := B64(ua.PublicKey().Bytes()); got != v.uaPublic {
		t.Fatalf("ua_public = %s, want %s", got, v.uaPublic)
	}
	body := mustB64(t, v.body)
	if got := B64(body[:86]); got != v.header {
		t.Errorf("header = %s, want %s", got, v.header)
	}
	d, err := derive(ua, mustB64(t, v.asPublic), mustB64(t, v.auth), mustB64(t, v.salt))
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]string{
		"ecdh_secret": {B64(d.ecdhSecret), v.ecdhSecret}, "prk_key": {B64(d.prkKey), v.prkKey},
		"ikm": {B64(d.ikm), v.ikm}, "prk": {B64(d.prk), v.prk},
		"cek": {B64(d.cek), v.cek}, "nonce": {B64(d.nonce), v.nonce},
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
