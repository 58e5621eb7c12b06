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
package callback

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/retryafter"
	"github.com/raprov/raprov/shared/steps"
)

// SignatureHeader carries the HMAC signature of a callback.
const SignatureHeader = "X-Raprov-Signature"

var _ steps.Notifier = (*Client)(nil)

// Client posts signed callbacks.
type Client struct {
	secret []byte
	http   *http.Client
	now    func() time.Time
	// AllowHTTP permits http:// callback URLs (tests against loopback only).
	AllowHTTP bool
}

// New returns a Client signing with secret. A nil httpClient uses one with a
// 10 s timeout.
func New(secret string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{secret: []byte(secret), http: httpClient, now: time.Now}
}

// Notify POSTs final to rawURL. 2xx is success; 408, 429 and 5xx and network
// errors are Unavailable/Throttled (retried by the complete step); other
// statuses are Invalid.
func (c *Client) Notify(ctx context.Context, rawURL string, final events.Event) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(c.AllowHTTP && u.Scheme == "http")) {
		return apperr.New(apperr.Invalid, "", "callback URL must be an absolute https URL")
	}
	if u.User != nil {
		return apperr.New(apperr.Invalid, "", "callback URL must not carry credentials; callbacks are signed")
	}
	body, err := events.Encode(final)
	if err != nil {
		return &apperr.Error{Code: apperr.Internal, Message: "encode callback", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return &apperr.Error{Code: apperr.Invalid, Message: "callback request", Err: err}
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("User-Agent", "raprov-callback")
	req.Header.Set(SignatureHeader, Sign(c.secret, c.now(), body))
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL may carry a token in its query: report the host only.
		return &apperr.Error{Code: apperr.Unavailable, Message: fmt.Sprintf("callback to %s failed", u.Host)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return &apperr.Error{Code: apperr.Throttled, Message: fmt.Sprintf("callback to %s: %s", u.Host, resp.Status), RetryAfter: retryafter.Header(resp.Header)}
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return &apperr.Error{Code: apperr.Unavailable, Message: fmt.Sprintf("callback to %s: %s", u.Host, resp.Status)}
	default:
		return apperr.New(apperr.Invalid, "", "callback to %s: %s", u.Host, resp.Status)
	}
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
