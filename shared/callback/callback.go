// Package callback posts a request's final result to its callbackUrl,
// signed so the receiver can check it came from raprov.
//
// The body is the encoded final event (CloudEvents structured JSON). The
// signature header is
//
//	X-Raprov-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
//
// with the shared secret; receivers recompute it and reject old timestamps to
// stop replays. The secret never leaves this package: it is not logged and
// not part of any error.
//
// A callback URL comes from whoever submits a request, so a Client guards
// against server-side request forgery: it posts only over https, to hosts
// that shared/netguard accepts (no loopback, private, link-local, CGNAT,
// metadata or other internal hosts) and, when an allow-list is configured
// (RAPROV_CALLBACK_ALLOWED_HOSTS), only to the hosts on it. It checks every
// address it actually connects to, after its own DNS lookup, so a public
// name that resolves to a private address (or is re-pointed there after
// intake: DNS rebinding) is refused too. It never uses a proxy from the
// environment and never follows redirects: a 3xx answer is a failed
// delivery. Refusals are permanent (apperr.Invalid) and name the host only,
// never the URL, whose query may carry a token.
package callback

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/netguard"
	"github.com/raprov/raprov/shared/retryafter"
	"github.com/raprov/raprov/shared/steps"
)

// SignatureHeader carries the HMAC signature of a callback.
const SignatureHeader = "X-Raprov-Signature"

// DefaultTimeout bounds one delivery when Options.Timeout is 0.
const DefaultTimeout = 10 * time.Second

var _ steps.Notifier = (*Client)(nil)

// Options configure a Client.
type Options struct {
	// AllowedHosts, when set, are the only hosts callbacks are posted to:
	// exact names and *.example.com patterns (netguard.HostList), from
	// RAPROV_CALLBACK_ALLOWED_HOSTS. Other hosts are refused before
	// dialling. The list narrows the public-address rule; it never lets a
	// callback reach a private address.
	AllowedHosts []string
	// Timeout bounds one delivery (DNS, connection, TLS, request and
	// answer); 0 means DefaultTimeout.
	Timeout time.Duration
}

// TestHooks weaken a Client for tests against a local receiver
// (httptest.Server). Only NewForTests takes them: nothing in raprov's
// configuration or environment reaches them, so a Client made by New always
// has the full protection.
type TestHooks struct {
	// AllowPrivate lets the Client connect to loopback and other
	// non-public addresses and hosts.
	AllowPrivate bool
	// AllowHTTP permits http:// callback URLs.
	AllowHTTP bool
	// TLS is the TLS configuration for receivers, e.g. the one of
	// httptest.Server.Client() that trusts the test certificate; nil uses
	// the system's roots.
	TLS *tls.Config
	// LookupNetIP replaces DNS resolution (net.Resolver.LookupNetIP), so a
	// test can make a name resolve to a loopback address without a network.
	LookupNetIP func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Client posts signed callbacks.
type Client struct {
	secret    []byte
	http      *http.Client
	now       func() time.Time
	allowed   netguard.HostList
	private   bool // TestHooks.AllowPrivate
	allowHTTP bool // TestHooks.AllowHTTP
}

// New returns a Client signing with secret, with the protection described
// in the package documentation. It fails when opts.AllowedHosts holds an
// entry that is neither a host name nor a *.domain pattern.
func New(secret string, opts Options) (*Client, error) {
	return newClient(secret, opts, TestHooks{})
}

// NewForTests returns a Client for tests, weakened by hooks. Production code
// uses New.
func NewForTests(secret string, opts Options, hooks TestHooks) (*Client, error) {
	return newClient(secret, opts, hooks)
}

func newClient(secret string, opts Options, hooks TestHooks) (*Client, error) {
	allowed := netguard.HostList(opts.AllowedHosts)
	if err := allowed.Validate(); err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	lookup := hooks.LookupNetIP
	if lookup == nil {
		lookup = net.DefaultResolver.LookupNetIP
	}
	d := &dialer{allowed: allowed, private: hooks.AllowPrivate, lookup: lookup}
	d.net = net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !hooks.AllowPrivate {
		d.net.Control = checkDialled
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if hooks.TLS != nil {
		tlsConf = hooks.TLS.Clone()
	}
	transport := &http.Transport{
		Proxy:                 nil, // never HTTPS_PROXY & co.: a proxy would dial for us, unchecked
		DialContext:           d.DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	hc := &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect would re-send the signed body to a URL the request
		// did not name, possibly over http: the 3xx is the answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{
		secret: []byte(secret), http: hc, now: time.Now,
		allowed: allowed, private: hooks.AllowPrivate, allowHTTP: hooks.AllowHTTP,
	}, nil
}

// Notify POSTs final to rawURL. 2xx is success; 408, 429 and 5xx and network
// errors are Unavailable/Throttled (retried by the complete step); a refused
// host or address, a redirect and other statuses are Invalid.
func (c *Client) Notify(ctx context.Context, rawURL string, final events.Event) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(c.allowHTTP && u.Scheme == "http")) {
		return apperr.New(apperr.Invalid, "", "callback URL must be an absolute https URL")
	}
	if u.User != nil {
		return apperr.New(apperr.Invalid, "", "callback URL must not carry credentials; callbacks are signed")
	}
	// Refuse what is known to be refused before encoding or dialling; the
	// dialler checks again, with the addresses it resolved.
	if err := c.checkHost(u.Hostname()); err != nil {
		return apperr.New(apperr.Invalid, "", "callback to %s refused: %s", u.Host, err)
	}
	body, err := events.Encode(final)
	if err != nil {
		return &apperr.Error{Code: apperr.Internal, Message: "encode callback", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return &apperr.Error{Code: apperr.Invalid, Message: "callback request"}
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("User-Agent", "raprov-callback")
	req.Header.Set(SignatureHeader, Sign(c.secret, c.now(), body))
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL may carry a token in its query: report the host only,
		// and never err itself (a *url.Error quotes the URL).
		var refused *refusal
		if errors.As(err, &refused) {
			return apperr.New(apperr.Invalid, "", "callback to %s refused: %s", u.Host, refused.what)
		}
		return &apperr.Error{Code: apperr.Unavailable, Message: fmt.Sprintf("callback to %s failed", u.Host)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return apperr.New(apperr.Invalid, "", "callback to %s: %s; redirects are not followed", u.Host, resp.Status)
	case resp.StatusCode == http.StatusTooManyRequests:
		return &apperr.Error{Code: apperr.Throttled, Message: fmt.Sprintf("callback to %s: %s", u.Host, resp.Status), RetryAfter: retryafter.Header(resp.Header)}
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return &apperr.Error{Code: apperr.Unavailable, Message: fmt.Sprintf("callback to %s: %s", u.Host, resp.Status)}
	default:
		return apperr.New(apperr.Invalid, "", "callback to %s: %s", u.Host, resp.Status)
	}
}

// checkHost applies the allow-list and, unless private hosts are allowed
// for tests, netguard's host rules; the error says what the host is.
func (c *Client) checkHost(host string) error {
	if !c.allowed.Allows(host) {
		return errors.New("the host is not in the allowed callback hosts (RAPROV_CALLBACK_ALLOWED_HOSTS)")
	}
	if c.private {
		return nil
	}
	var r *netguard.Refusal
	if err := netguard.CheckHost(host); errors.As(err, &r) {
		return fmt.Errorf("the host is %s; callbacks go to public hosts only", r.What)
	}
	return nil
}

// Sign returns the SignatureHeader value for body at time t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a SignatureHeader value against body, rejecting signatures
// older than maxAge.
func Verify(secret []byte, header string, body []byte, now time.Time, maxAge time.Duration) error {
	var ts, sig string
	for _, part := range bytes.Split([]byte(header), []byte(",")) {
		k, v, _ := bytes.Cut(bytes.TrimSpace(part), []byte("="))
		switch string(k) {
		case "t":
			ts = string(v)
		case "v1":
			sig = string(v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("malformed %s header", SignatureHeader)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > maxAge || age < -maxAge {
		return fmt.Errorf("signature timestamp outside %s", maxAge)
	}
	want := Sign(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}
