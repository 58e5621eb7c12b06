package callback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/raprov/raprov/shared/netguard"
)

// refusal is a dial the guard refused. Notify turns it into an
// apperr.Invalid naming the host; what never holds the URL.
type refusal struct {
	what string
}

func (r *refusal) Error() string { return "callback refused: " + r.what }

// dialer connects callbacks to public addresses only. It resolves the host
// itself, checks every address, and dials the checked addresses, never the
// name: a second lookup by the standard dialler could answer differently
// (DNS rebinding).
type dialer struct {
	allowed netguard.HostList
	private bool // TestHooks.AllowPrivate
	lookup  func(ctx context.Context, network, host string) ([]netip.Addr, error)
	net     net.Dialer
}

// DialContext is the http.Transport's dialler. addr is the URL's host and
// port: callbacks never go through a proxy.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &refusal{what: "the callback address has no port"}
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, &refusal{what: "the callback port is not a number"}
	}
	if !d.allowed.Allows(host) {
		return nil, &refusal{what: "the host is not in the allowed callback hosts (RAPROV_CALLBACK_ALLOWED_HOSTS)"}
	}
	if !d.private {
		var r *netguard.Refusal
		if err := netguard.CheckHost(host); errors.As(err, &r) {
			return nil, &refusal{what: fmt.Sprintf("the host is %s; callbacks go to public hosts only", r.What)}
		}
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lookupNet := "ip"
		switch network {
		case "tcp4":
			lookupNet = "ip4"
		case "tcp6":
			lookupNet = "ip6"
		}
		if addrs, err = d.lookup(ctx, lookupNet, host); err != nil {
			return nil, err // transient, or a name that does not exist
		}
		if len(addrs) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
	}
	if !d.private {
		// One non-public address refuses the host: a name that mixes
		// public and private addresses is not a public receiver.
		for _, a := range addrs {
			var r *netguard.Refusal
			if err := netguard.CheckAddr(a); errors.As(err, &r) {
				return nil, &refusal{what: fmt.Sprintf("the host resolves to %s; callbacks go to public addresses only", r.What)}
			}
		}
	}
	var first error
	for _, a := range addrs {
		conn, err := d.net.DialContext(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// checkDialled is the net.Dialer's Control hook: the last check, on the
// address the socket is about to connect to, whatever led there.
func checkDialled(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &refusal{what: "the dialled address is not an IP address"}
	}
	var r *netguard.Refusal
	if err := netguard.CheckAddr(ap.Addr()); errors.As(err, &r) {
		return &refusal{what: fmt.Sprintf("the host resolves to %s; callbacks go to public addresses only", r.What)}
	}
	return nil
}
