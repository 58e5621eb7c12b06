package netguard

import (
	"fmt"
	"net/netip"
	"strings"
)

// Refusal is the error of CheckAddr and CheckHost: the address or host is
// not a public destination. It never carries the URL the host came from.
type Refusal struct {
	// What the address or host is, e.g. "a loopback address", written to
	// follow "its host is" or "it resolves to".
	What string
}

func (r *Refusal) Error() string { return "not a public host: " + r.What }

func refuse(format string, args ...any) *Refusal {
	return &Refusal{What: fmt.Sprintf(format, args...)}
}

// special is one special-purpose range: what an address in it is.
type special struct {
	prefix netip.Prefix
	what   string
}

// ipv4Special are the IPv4 ranges of the IANA special-purpose address
// registry (RFC 6890 and successors) that are not globally reachable,
// plus multicast and the reserved 240/4 (which holds the broadcast address).
var ipv4Special = []special{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified (\"this network\") address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (cloud metadata services live at 169.254.169.254)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay anycast address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
}

// ipv6Special are the IPv6 ranges refused besides everything outside
// global unicast (2000::/3). Ranges that embed an IPv4 address (NAT64,
// 6to4) are judged by that address instead, see CheckAddr.
var ipv6Special = []special{
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address (deprecated)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("fc00::/7"), "a unique local (private) IPv6 address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local IPv6 address (deprecated)"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment address (Teredo, benchmarking, ORCHID)"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	{netip.MustParsePrefix("5f00::/16"), "an SRv6 segment identifier"},
}

var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	nat64         = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: IPv4 in the last 32 bits
	sixToFour     = netip.MustParsePrefix("2002::/16")    // RFC 3056: IPv4 in bits 16–47
)

// CheckAddr returns nil when a is a public unicast address and a *Refusal
// otherwise. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as its
// IPv4 address, as are the IPv4 addresses embedded in NAT64
// (64:ff9b::/96) and 6to4 (2002::/16) addresses. An address with a zone
// (fe80::1%eth0) is refused.
func CheckAddr(a netip.Addr) error {
	switch {
	case !a.IsValid():
		return refuse("not an IP address")
	case a.Zone() != "":
		return refuse("an IPv6 address with a zone")
	}
	a = a.Unmap()
	if a.Is4() {
		for _, s := range ipv4Special {
			if s.prefix.Contains(a) {
				return refuse("%s", s.what)
			}
		}
		return nil
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		if err := CheckAddr(netip.AddrFrom4([4]byte(b[12:16]))); err != nil {
			return refuse("a NAT64 address of %s", err.(*Refusal).What)
		}
		return nil
	case sixToFour.Contains(a):
		if err := CheckAddr(netip.AddrFrom4([4]byte(b[2:6]))); err != nil {
			return refuse("a 6to4 address of %s", err.(*Refusal).What)
		}
		return nil
	}
	for _, s := range ipv6Special {
		if s.prefix.Contains(a) {
			return refuse("%s", s.what)
		}
	}
	if !globalUnicast.Contains(a) {
		return refuse("a reserved IPv6 address (not global unicast)")
	}
	return nil
}

// internalSuffixes are top-level (or second-level) names that only resolve
// inside a network: the special-use names of RFC 6761 (localhost, test,
// invalid), mDNS (local, RFC 6762), home.arpa (RFC 8375), internal (reserved
// for private use by ICANN in 2024, used by cloud metadata services such
// as metadata.google.internal and ec2.internal) and names that intranets
// commonly use as if they were top-level domains.
var internalSuffixes = []string{
	"localhost", "local", "internal", "home.arpa", "test", "invalid",
	"localdomain", "lan", "home", "corp", "intranet", "private",
}

// CheckHost checks a URL's host as written (url.URL.Hostname: no port, no
// brackets), without resolving it, and returns nil when it may name a
// public destination or a *Refusal otherwise. It refuses:
//
//   - IP literals that CheckAddr refuses;
//   - names without a dot (localhost, metadata, instance-data, intranet
//     short names, which resolve through search domains);
//   - localhost and names under it, and names under the internal-only
//     suffixes (.local, .internal — metadata.google.internal —, .home.arpa,
//     .test, .invalid, .localdomain, .lan, .home, .corp, .intranet, .private);
//   - numeric names that are not a dotted-decimal IPv4 address, such as
//     2130706433, 0x7f000001, 127.1 or 0177.0.0.1: C resolvers read them
//     as IPv4 addresses, so any name whose last label is a number (decimal,
//     or hexadecimal with 0x) is refused; no top-level domain is numeric;
//   - names that are not ASCII (write them in their xn-- form): HTTP
//     clients map them to ASCII, and full-width letters, say, to plain ones.
//
// A trailing dot and letter case are ignored. A name that passes may still
// resolve to a private address: the dialler must check the addresses it
// connects to with CheckAddr.
func CheckHost(host string) error {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" {
		return refuse("an empty host name")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return CheckAddr(a)
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return refuse("a host name that is not ASCII (use its xn-- form)")
		}
	}
	labels := strings.Split(h, ".")
	if last := labels[len(labels)-1]; isNumeric(last) {
		return refuse("a numeric host name that is not a dotted-decimal IP address")
	}
	if len(labels) == 1 {
		return refuse("a single-label host name (such as localhost or metadata), which only resolves inside a network")
	}
	for _, s := range internalSuffixes {
		if h == s || strings.HasSuffix(h, "."+s) {
			return refuse("an internal host name (.%s)", s)
		}
	}
	return nil
}

// isNumeric reports whether a label is a number as inet_aton reads one:
// decimal (or octal) digits, or 0x followed by hexadecimal digits.
func isNumeric(l string) bool {
	if l == "" {
		return false
	}
	digits := "0123456789"
	if len(l) > 1 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		l, digits = l[2:], "0123456789abcdefABCDEF"
		if l == "" {
			return true // "0x" alone is zero to inet_aton
		}
	}
	return strings.Trim(l, digits) == ""
}

// HostList is an allow-list of host names: exact names (hooks.contoso.com)
// and suffix patterns (*.contoso.com: any name under contoso.com, not
// contoso.com itself). Matching ignores case, surrounding spaces and a
// trailing dot. An empty list allows every host. A list narrows what
// CheckHost and CheckAddr accept; it never widens it.
type HostList []string

// ParseHostList reads a comma-separated list, as in
// RAPROV_CALLBACK_ALLOWED_HOSTS, and validates it.
func ParseHostList(s string) (HostList, error) {
	var l HostList
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l = append(l, p)
		}
	}
	return l, l.Validate()
}

// Validate returns an error naming the first entry that is neither a host
// name nor a *.suffix pattern.
func (l HostList) Validate() error {
	for _, p := range l {
		name := strings.TrimPrefix(normalise(p), "*.")
		if name == "" || strings.ContainsAny(name, "*/:@?#[] ") || strings.HasPrefix(name, ".") ||
			strings.Contains(name, "..") {
			return fmt.Errorf("allowed host %q is not a host name or a *.domain pattern", p)
		}
	}
	return nil
}

// Allows reports whether host (a URL's host name, without port) matches
// an entry, or whether the list is empty.
func (l HostList) Allows(host string) bool {
	if len(l) == 0 {
		return true
	}
	h := normalise(host)
	if h == "" {
		return false
	}
	for _, p := range l {
		p = normalise(p)
		if suffix, ok := strings.CutPrefix(p, "*."); ok {
			if suffix != "" && strings.HasSuffix(h, "."+suffix) {
				return true
			}
		} else if p != "" && h == p {
			return true
		}
	}
	return false
}

func normalise(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
}
