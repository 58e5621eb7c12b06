package validate

import (
	"errors"

	"github.com/raprov/raprov/shared/netguard"
)

// checkCallbackHost returns what is wrong with the host of a callback URL,
// or "". It refuses, without resolving anything, the hosts that
// netguard.CheckHost refuses (IP literals in non-public ranges, internal
// names, numeric spellings of addresses) and, when allowed is set, hosts
// not on that allow-list. The callback client checks the addresses it
// dials as well: a public name may resolve to a private address.
//
// Messages start with the field name and never quote the URL or its host:
// the URL may carry a token.
func checkCallbackHost(host string, allowed []string) string {
	var r *netguard.Refusal
	if err := netguard.CheckHost(host); errors.As(err, &r) {
		return "callbackUrl must name a public host: its host is " + r.What +
			"; results are posted only to hosts reachable from the internet"
	}
	if !netguard.HostList(allowed).Allows(host) {
		return "callbackUrl host is not one of the hosts allowed to receive callbacks"
	}
	return ""
}
