package webpush

import (
	"fmt"
	"net/netip"
)

// pushPort is the only port the push client connects to: every push service (FCM,
// Mozilla autopush, Apple, Microsoft WNS) is HTTPS on 443, and allowing others only
// lets an endpoint aim our requests at some other service on a public address.
const pushPort = 443

// specialPurpose are the IANA IPv4 and IPv6 Special-Purpose Address Registries'
// blocks (plus multicast and the 6to4/NAT64 forms that embed an IPv4 address): nothing
// a push service lives in. Some are reachable from Cloud Run although not "private"
// (100.64/10 goes into the VPC with private-ranges egress), so the dialer refuses them
// all rather than trusting net.IP.IsPrivate.
var specialPurpose = mustPrefixes(
	"0.0.0.0/8",       // "this network" (RFC 791)
	"10.0.0.0/8",      // private (RFC 1918)
	"100.64.0.0/10",   // shared address space, carrier NAT (RFC 6598)
	"127.0.0.0/8",     // loopback (RFC 1122)
	"169.254.0.0/16",  // link local, metadata servers (RFC 3927)
	"172.16.0.0/12",   // private (RFC 1918)
	"192.0.0.0/24",    // IETF protocol assignments (RFC 6890)
	"192.0.2.0/24",    // TEST-NET-1 (RFC 5737)
	"192.31.196.0/24", // AS112-v4 (RFC 7535)
	"192.52.193.0/24", // AMT (RFC 7450)
	"192.88.99.0/24",  // deprecated 6to4 relay anycast (RFC 7526)
	"192.168.0.0/16",  // private (RFC 1918)
	"192.175.48.0/24", // direct delegation AS112 (RFC 7534)
	"198.18.0.0/15",   // benchmarking (RFC 2544)
	"198.51.100.0/24", // TEST-NET-2 (RFC 5737)
	"203.0.113.0/24",  // TEST-NET-3 (RFC 5737)
	"224.0.0.0/4",     // multicast (RFC 5771)
	"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast (RFC 1112, RFC 919)
	"::/128",          // unspecified (RFC 4291)
	"::1/128",         // loopback (RFC 4291)
	"::/96",           // deprecated IPv4-compatible (RFC 4291)
	"::ffff:0:0/96",   // IPv4-mapped: checked as IPv4 after Unmap (RFC 4291)
	"64:ff9b::/96",    // NAT64 well-known prefix (RFC 6052)
	"64:ff9b:1::/48",  // local-use NAT64 (RFC 8215)
	"100::/64",        // discard-only (RFC 6666)
	"2001::/23",       // IETF protocol assignments, Teredo, ORCHIDv2 (RFC 2928)
	"2001:db8::/32",   // documentation (RFC 3849)
	"2002::/16",       // 6to4, embeds an IPv4 address (RFC 3056)
	"3fff::/20",       // documentation (RFC 9637)
	"5f00::/16",       // SRv6 SIDs (RFC 9602)
	"fc00::/7",        // unique local (RFC 4193)
	"fe80::/10",       // link local (RFC 4291)
	"fec0::/10",       // deprecated site local (RFC 3879)
	"ff00::/8",        // multicast (RFC 4291)
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// checkDial refuses a connection the push client must not make: to a special-purpose
// address, or to a port other than 443. With allowLoopback (tests, the local system),
// 127.0.0.1 on any port is allowed. address is the resolved "ip:port" the dialer is
// about to connect to, so DNS answers cannot get around it.
func checkDial(address string, allowLoopback bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %q: not an IP address and port", address)
	}
	ip := ap.Addr().Unmap()
	if allowLoopback && ip.IsLoopback() {
		return nil
	}
	for _, p := range specialPurpose {
		if p.Contains(ip) {
			return fmt.Errorf("dial %s: %w (%s)", ip, errNonPublic, p)
		}
	}
	if ap.Port() != pushPort {
		return fmt.Errorf("dial port %d: %w (push services are on %d)", ap.Port(), errNonPublic, pushPort)
	}
	return nil
}
