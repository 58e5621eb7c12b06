//go:build e2ehooks

// This file is compiled only with -tags e2ehooks: the AWS end-to-end
// harness (functions/e2e) builds complete with it so that the real function
// can post callbacks to a receiver on this machine. The deployable build
// (make build-aws, -tags lambda.norpc) never contains it, and
// functions/deps_test.go checks that its binary does not.

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/callback"
)

// e2eResolveVar names the variable that maps callback host names to
// addresses, "name=address[,name=address...]", e.g.
// "hooks.contoso.com=127.0.0.1". When it is set, the callback client
// resolves those names to those addresses, no other name at all, and may
// connect to loopback and other private addresses (callback.TestHooks).
// TLS is not weakened: the receiver's certificate must be trusted as any
// other (the harness sets SSL_CERT_FILE).
const e2eResolveVar = "RAPROV_E2E_CALLBACK_RESOLVE"

func init() {
	newNotifier = e2eNotifier
}

// e2eNotifier is newNotifier of the e2ehooks build: callback.New unless
// e2eResolveVar is set.
func e2eNotifier(h *host.Host, key string, opts callback.Options) (*callback.Client, error) {
	spec := strings.TrimSpace(os.Getenv(e2eResolveVar))
	if spec == "" {
		return callback.New(key, opts)
	}
	names, err := parseResolve(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e2eResolveVar, err)
	}
	h.Log.Warn("e2ehooks build: callbacks may reach private addresses; never deploy this build", "resolve", spec)
	return callback.NewForTests(key, opts, callback.TestHooks{
		AllowPrivate: true,
		LookupNetIP: func(_ context.Context, _, name string) ([]netip.Addr, error) {
			if a, ok := names[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
				return []netip.Addr{a}, nil
			}
			return nil, &net.DNSError{Err: "not in " + e2eResolveVar, Name: name, IsNotFound: true}
		},
	})
}

// parseResolve reads "name=address[,name=address...]".
func parseResolve(spec string) (map[string]netip.Addr, error) {
	out := map[string]netip.Addr{}
	for _, pair := range strings.Split(spec, ",") {
		name, addr, ok := strings.Cut(strings.TrimSpace(pair), "=")
		name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not name=address", pair)
		}
		a, err := netip.ParseAddr(strings.TrimSpace(addr))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", pair, err)
		}
		out[name] = a
	}
	return out, nil
}
