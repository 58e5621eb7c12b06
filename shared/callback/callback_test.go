package callback_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/callback"
)

func final() events.Event {
	return events.New(events.TypeProvisioningCompleted, events.Source(events.StepComplete), events.Data{
		Request: events.Request{RequestID: "REQ-7", UserPrincipalName: "aa@contoso.com"},
	})
}

// MustNew returns callback.New(secret, opts) or fails tb.
func MustNew(tb testing.TB, secret string, opts callback.Options) *callback.Client {
	tb.Helper()
	c, err := callback.New(secret, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// MustNewForTests returns a Client that trusts ts's certificate, with hooks.
func MustNewForTests(tb testing.TB, secret string, ts *httptest.Server, opts callback.Options, hooks callback.TestHooks) *callback.Client {
	tb.Helper()
	if ts != nil && ts.TLS != nil {
		hooks.TLS = ts.Client().Transport.(*http.Transport).TLSClientConfig
	}
	c, err := callback.NewForTests(secret, opts, hooks)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// loopback returns a test Client that may post to ts on a loopback address.
func loopback(tb testing.TB, secret string, ts *httptest.Server) *callback.Client {
	tb.Helper()
	return MustNewForTests(tb, secret, ts, callback.Options{}, callback.TestHooks{AllowPrivate: true})
}

// resolveTo is a LookupNetIP hook answering addrs for every name, counting
// its calls.
func resolveTo(calls *atomic.Int32, addrs ...string) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(context.Context, string, string) ([]netip.Addr, error) {
		calls.Add(1)
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

// port returns ts's port.
func port(tb testing.TB, ts *httptest.Server) string {
	tb.Helper()
	u, err := url.Parse(ts.URL)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Port()
}

// counting returns a TLS receiver answering status and counting requests.
func counting(tb testing.TB, status int) (*httptest.Server, *atomic.Int32) {
	tb.Helper()
	var hits atomic.Int32
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(status)
	}))
	tb.Cleanup(ts.Close)
	return ts, &hits
}

// noLeak fails when err's message holds a secret or the URL's token.
func noLeak(tb testing.TB, err error, secrets ...string) {
	tb.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			tb.Errorf("error leaks %q: %v", s, err)
		}
	}
}

func TestNotifySignsAndClassifies(t *testing.T) {
	const secret = "s3cret-webhook-key"
	status := http.StatusNoContent
	var gotSig string
	var gotBody []byte
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotSig = r.Header.Get(callback.SignatureHeader)
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(status)
	}))
	defer ts.Close()
	c := loopback(t, secret, ts)

	if err := c.Notify(context.Background(), ts.URL+"/hook?token=abc", final()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if err := callback.Verify([]byte(secret), gotSig, gotBody, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if err := callback.Verify([]byte("other"), gotSig, gotBody, time.Now(), time.Minute); err == nil {
		t.Fatal("signature verified with the wrong secret")
	}
	if err := callback.Verify([]byte(secret), gotSig, append(gotBody, ' '), time.Now(), time.Minute); err == nil {
		t.Fatal("signature verified a tampered body")
	}
	if err := callback.Verify([]byte(secret), gotSig, gotBody, time.Now().Add(time.Hour), time.Minute); err == nil {
		t.Fatal("old signature accepted")
	}
	ev, err := events.Decode(gotBody)
	if err != nil || ev.Subject != "REQ-7" {
		t.Fatalf("body is not the final event: %v %+v", err, ev)
	}

	tests := []struct {
		status int
		code   apperr.Code
	}{
		{http.StatusTooManyRequests, apperr.Throttled},
		{http.StatusBadGateway, apperr.Unavailable},
		{http.StatusNotFound, apperr.Invalid},
	}
	for _, tt := range tests {
		status = tt.status
		err := c.Notify(context.Background(), ts.URL+"/hook?token=abc", final())
		if apperr.CodeOf(err) != tt.code {
			t.Errorf("status %d: code %s, want %s", tt.status, apperr.CodeOf(err), tt.code)
		}
		if err != nil && strings.Contains(err.Error(), "token=abc") {
			t.Errorf("error leaks the callback URL's query: %v", err)
		}
		if tt.code == apperr.Throttled && apperr.RetryAfterOf(err) != 3*time.Second {
			t.Errorf("Retry-After not honoured: %v", apperr.RetryAfterOf(err))
		}
	}
}

func TestNotifyRejectsPlainHTTP(t *testing.T) {
	c := MustNew(t, "k", callback.Options{})
	if err := c.Notify(context.Background(), "http://example.com/hook", final()); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("http callback: %v", err)
	}
	err := c.Notify(context.Background(), "https://user:pa55@example.com/hook", final())
	if apperr.CodeOf(err) != apperr.Invalid || strings.Contains(err.Error(), "pa55") {
		t.Fatalf("callback with credentials: %v", err)
	}
}

func TestNotifyUnreachable(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	url := ts.URL
	c := loopback(t, "k", ts)
	ts.Close()
	err := c.Notify(context.Background(), url+"/x?sig=secret", final())
	if apperr.CodeOf(err) != apperr.Unavailable || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable: %v", err)
	}
}

const (
	hmacSecret = "hm4c-s3cret-key"
	token      = "tok3n-in-query"
)

func TestNotifyRefusesNonPublicHosts(t *testing.T) {
	ts, hits := counting(t, http.StatusNoContent)
	p := port(t, ts)
	var lookups atomic.Int32
	// Without AllowPrivate, as New; the hook only proves nothing is resolved.
	c := MustNewForTests(t, hmacSecret, ts, callback.Options{}, callback.TestHooks{LookupNetIP: resolveTo(&lookups, "127.0.0.1")})
	tests := []struct{ name, host, what string }{
		{"IPv4 loopback", "127.0.0.1:" + p, "loopback"},
		{"IPv4 loopback range", "127.8.9.10:" + p, "loopback"},
		{"IPv6 loopback", "[::1]:" + p, "loopback"},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]:" + p, "loopback"},
		{"localhost", "localhost:" + p, "single-label"},
		{"name under localhost", "app.localhost:" + p, ".localhost"},
		{"RFC 1918", "10.1.2.3", "private"},
		{"cloud metadata address", "169.254.169.254", "link-local"},
		{"cloud metadata name", "metadata.google.internal", ".internal"},
		{"metadata single label", "metadata", "single-label"},
		{"CGNAT", "100.100.100.200", "carrier-grade NAT"},
		{"unspecified", "0.0.0.0:" + p, "unspecified"},
		{"IPv6 unspecified", "[::]:" + p, "unspecified"},
		{"IPv6 ULA", "[fd00:ec2::254]", "unique local"},
		{"IPv6 link-local", "[fe80::1]", "link-local"},
		{"decimal integer", "2130706433:" + p, "numeric"},
		{"hexadecimal", "0x7f000001:" + p, "numeric"},
		{"short dotted", "127.1:" + p, "numeric"},
		{"mDNS", "printer.local", ".local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Notify(context.Background(), "https://"+tt.host+"/hook?token="+token, final())
			if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(err.Error(), tt.what) {
				t.Errorf("got %v, want an Invalid error saying %q", err, tt.what)
			}
			if err != nil && !strings.Contains(err.Error(), "callback to "+tt.host+" refused") {
				t.Errorf("error does not name the host: %v", err)
			}
			noLeak(t, err, hmacSecret, token, "/hook")
		})
	}
	if hits.Load() != 0 || lookups.Load() != 0 {
		t.Errorf("refused hosts reached the receiver %d times and the resolver %d times", hits.Load(), lookups.Load())
	}
}

// A public name that resolves to a private address (at intake or only at
// delivery: DNS rebinding) is refused at dial time.
func TestNotifyRefusesNamesResolvingToNonPublicAddresses(t *testing.T) {
	ts, hits := counting(t, http.StatusNoContent)
	url := "https://example.com:" + port(t, ts) + "/hook?token=" + token
	for _, addrs := range [][]string{
		{"127.0.0.1"},
		{"::1"},
		{"::ffff:127.0.0.1"},
		{"93.184.215.14", "127.0.0.1"}, // one bad address refuses the name
		{"169.254.169.254"},
	} {
		var lookups atomic.Int32
		c := MustNewForTests(t, hmacSecret, ts, callback.Options{}, callback.TestHooks{LookupNetIP: resolveTo(&lookups, addrs...)})
		err := c.Notify(context.Background(), url, final())
		if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(err.Error(), "resolves to") ||
			!strings.Contains(err.Error(), "callback to example.com:") {
			t.Errorf("%v: got %v, want Invalid naming the host and what it resolves to", addrs, err)
		}
		noLeak(t, err, hmacSecret, token, "127.0.0.1", "/hook")
		if lookups.Load() == 0 {
			t.Errorf("%v: the resolver hook was not used", addrs)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the receiver got %d callbacks", hits.Load())
	}

	// The opt-in for tests lets the same name through to the loopback receiver.
	var lookups atomic.Int32
	c := MustNewForTests(t, hmacSecret, ts, callback.Options{}, callback.TestHooks{AllowPrivate: true, LookupNetIP: resolveTo(&lookups, "127.0.0.1")})
	if err := c.Notify(context.Background(), url, final()); err != nil || hits.Load() != 1 {
		t.Errorf("with AllowPrivate: %v, %d callbacks", err, hits.Load())
	}
}

func TestNotifyDoesNotFollowRedirects(t *testing.T) {
	var stolen atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen.Add(1) }))
	defer thief.Close()
	secureThief, secureStolen := counting(t, http.StatusNoContent)
	tests := []struct {
		status   int
		location string
		want     string
	}{
		{http.StatusFound, thief.URL + "/steal", "302 Found; redirects are not followed"},
		{http.StatusTemporaryRedirect, thief.URL + "/steal", "307 Temporary Redirect; redirects are not followed"},
		{http.StatusPermanentRedirect, secureThief.URL + "/steal", "308 Permanent Redirect; redirects are not followed"},
		{http.StatusMovedPermanently, "/elsewhere", "301 Moved Permanently; redirects are not followed"},
	}
	for _, tt := range tests {
		ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/hook" {
				stolen.Add(1)
			}
			http.Redirect(w, r, tt.location, tt.status)
		}))
		err := loopback(t, hmacSecret, ts).Notify(context.Background(), ts.URL+"/hook?token="+token, final())
		ts.Close()
		want := "callback to " + strings.TrimPrefix(ts.URL, "https://") + ": " + tt.want
		if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("%d: got %v, want Invalid %q", tt.status, err, want)
		}
		noLeak(t, err, hmacSecret, token, "steal")
	}
	if stolen.Load() != 0 || secureStolen.Load() != 0 {
		t.Errorf("redirects were followed: %d http, %d https", stolen.Load(), secureStolen.Load())
	}
}

func TestNotifyAllowedHosts(t *testing.T) {
	ts, hits := counting(t, http.StatusNoContent)
	p := port(t, ts)
	var lookups atomic.Int32
	hooks := callback.TestHooks{AllowPrivate: true, LookupNetIP: resolveTo(&lookups, "127.0.0.1")}

	// httptest's certificate is for example.com, which resolves to the receiver.
	c := MustNewForTests(t, hmacSecret, ts, callback.Options{AllowedHosts: []string{" Example.COM. ", "*.contoso.com"}}, hooks)
	if err := c.Notify(context.Background(), "https://example.com:"+p+"/hook?token="+token, final()); err != nil || hits.Load() != 1 {
		t.Fatalf("listed host: %v, %d callbacks", err, hits.Load())
	}
	for _, host := range []string{"127.0.0.1", "fabrikam.com", "example.com.evil.net", "contoso.com", "evilcontoso.com"} {
		before := lookups.Load()
		err := c.Notify(context.Background(), "https://"+host+":"+p+"/hook?token="+token, final())
		if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(err.Error(), "RAPROV_CALLBACK_ALLOWED_HOSTS") {
			t.Errorf("%s: got %v, want Invalid naming the allow-list", host, err)
		}
		noLeak(t, err, hmacSecret, token)
		if lookups.Load() != before {
			t.Errorf("%s: resolved before being refused", host)
		}
	}
	// A name under a *.suffix pattern is dialled (the certificate does not
	// cover it, so the TLS handshake fails: a transient failure).
	before := lookups.Load()
	err := c.Notify(context.Background(), "https://hooks.contoso.com:"+p+"/hook", final())
	if lookups.Load() == before || apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("suffix pattern: %v, resolved %d times", err, lookups.Load()-before)
	}
	if hits.Load() != 1 {
		t.Errorf("the receiver got %d callbacks, want 1", hits.Load())
	}

	// The list never lets a private host through New.
	strict := MustNew(t, hmacSecret, callback.Options{AllowedHosts: []string{"localhost", "127.0.0.1"}})
	for _, host := range []string{"localhost", "127.0.0.1"} {
		if err := strict.Notify(context.Background(), "https://"+host+":"+p+"/", final()); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("listed private host %s: %v", host, err)
		}
	}
	if hits.Load() != 1 {
		t.Errorf("the receiver got %d callbacks, want 1", hits.Load())
	}

	for _, bad := range []string{"*", "*.", "hooks.*.com", "https://hooks.contoso.com", "hooks.contoso.com:443", ".contoso.com"} {
		if _, err := callback.New(hmacSecret, callback.Options{AllowedHosts: []string{bad}}); err == nil {
			t.Errorf("allowed host %q accepted", bad)
		}
	}
}

// A proxy from the environment would connect for the Client, past its
// checks: callbacks never use one. net/http reads the proxy environment
// once per process, so this test only catches a transport that uses it
// when it is the first to ask (go test -run this test alone);
// TestClientTransportDialsThroughGuard checks the field itself.
func TestNotifyIgnoresProxyEnvironment(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer proxy.Close()
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	ts, hits := counting(t, http.StatusNoContent)
	var lookups atomic.Int32
	c := MustNewForTests(t, hmacSecret, ts, callback.Options{}, callback.TestHooks{AllowPrivate: true, LookupNetIP: resolveTo(&lookups, "127.0.0.1")})
	if err := c.Notify(context.Background(), "https://example.com:"+port(t, ts)+"/hook", final()); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() != 0 || hits.Load() != 1 {
		t.Errorf("proxy got %d requests, receiver %d", proxied.Load(), hits.Load())
	}
}

func TestNotifyErrorsKeepSecrets(t *testing.T) {
	ts, _ := counting(t, http.StatusBadRequest)
	p := port(t, ts)
	var lookups atomic.Int32
	c := MustNewForTests(t, hmacSecret, ts, callback.Options{}, callback.TestHooks{LookupNetIP: resolveTo(&lookups, "127.0.0.1")})
	for _, u := range []string{
		"https://127.0.0.1:" + p + "/hook?token=" + token,
		"https://example.com:" + p + "/hook?token=" + token,
		"https://user:" + token + "@example.com/hook",
		"http://example.com/hook?token=" + token,
	} {
		err := c.Notify(context.Background(), u, final())
		if err == nil {
			t.Fatalf("%s: no error", u)
		}
		noLeak(t, err, hmacSecret, token)
		var ae *apperr.Error
		if errors.As(err, &ae) && ae.Err != nil {
			noLeak(t, ae.Err, hmacSecret, token)
		}
	}
}
