// Package admission decides whether a new request may proceed. Token buckets with a
// bounded table: per authenticated user for what a user may do, and per client address
// (IPv6 by /64) only for failed authentication, so a school behind one address is
// never limited as one client while a guesser still is.
package admission

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address a request came from. With hops > 0 it trusts that many
// proxies in front of us (Cloud Run's front end is one) and takes the address the
// outermost trusted proxy saw: the hops-th entry from the right of X-Forwarded-For.
// Entries further left are the client's own claims and are ignored.
func ClientIP(r *http.Request, hops int) string {
	if hops > 0 {
		var parts []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, p := range strings.Split(h, ",") {
				parts = append(parts, strings.TrimSpace(p))
			}
		}
		if len(parts) >= hops {
			if ip := net.ParseIP(parts[len(parts)-hops]); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// AddrKey is the limiter key for a client address: an IPv4 address as it is, an IPv6
// address by its /64 (one subscriber's prefix: rotating addresses inside it must not
// buy fresh buckets). Anything unparseable is its own key.
func AddrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
