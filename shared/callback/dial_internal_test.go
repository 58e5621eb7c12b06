package callback

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// checkDialled is the net.Dialer's last word on the socket's address.
func TestCheckDialled(t *testing.T) {
	tests := []struct {
		address string
		ok      bool
	}{
		{"93.184.215.14:443", true},
		{"[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", true},
		{"127.0.0.1:443", false},
		{"[::1]:443", false},
		{"[::ffff:10.0.0.1]:443", false},
		{"169.254.169.254:80", false},
		{"[fe80::1%eth0]:443", false},
		{"not-an-address", false},
	}
	for _, tt := range tests {
		if err := checkDialled("tcp", tt.address, nil); (err == nil) != tt.ok {
			t.Errorf("checkDialled(%s) = %v, want ok %t", tt.address, err, tt.ok)
		}
	}
}

// The Client's transport must dial through the guard alone. Proxy is
// checked as a field, not by setting HTTPS_PROXY: net/http reads the proxy
// environment once per process, so a test that sets it cannot see a
// transport that uses http.ProxyFromEnvironment once any earlier request in
// the process has read an empty environment.
func TestClientTransportDialsThroughGuard(t *testing.T) {
	for _, tt := range []struct {
		name  string
		hooks TestHooks
	}{
		{"New", TestHooks{}},
		{"NewForTests", TestHooks{AllowPrivate: true, AllowHTTP: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newClient("secret", Options{}, tt.hooks)
			if err != nil {
				t.Fatal(err)
			}
			tr, ok := c.http.Transport.(*http.Transport)
			if !ok {
				t.Fatalf("transport is %T, want *http.Transport", c.http.Transport)
			}
			if tr.Proxy != nil {
				t.Error("transport.Proxy is set: a proxy would connect for the Client, past the guard")
			}
			// Every other way to a connection would skip DialContext.
			if tr.Dial != nil || tr.DialTLS != nil || tr.DialTLSContext != nil || tr.OnProxyConnectResponse != nil {
				t.Error("transport has a dialler besides DialContext")
			}
			if tr.DialContext == nil {
				t.Fatal("transport.DialContext is nil: the standard dialler has no guard")
			}
			if tt.hooks.AllowPrivate {
				return
			}
			// DialContext is the guard's: it refuses a loopback address
			// without dialling.
			var r *refusal
			if _, err := tr.DialContext(context.Background(), "tcp", "127.0.0.1:443"); !errors.As(err, &r) {
				t.Errorf("DialContext(127.0.0.1:443) = %v, want a refusal", err)
			}
		})
	}
}
