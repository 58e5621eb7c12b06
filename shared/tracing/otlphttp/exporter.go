package otlphttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultTimeout bounds one ExportSpans call, retries included, unless
// Options.Timeout (OTEL_EXPORTER_OTLP_TIMEOUT) says otherwise.
const DefaultTimeout = 10 * time.Second

// Backoff between retries: the first wait, doubled on each retry up to the
// cap, each with up to a quarter of jitter either way. A collector's
// Retry-After replaces it.
const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// maxBody is how much of a response body the exporter reads; snippetLen
// is how much of it an error quotes.
const (
	maxBody    = 64 << 10
	snippetLen = 200
)

// Options configure an Exporter.
type Options struct {
	// Endpoint is the full URL spans are POSTed to, e.g.
	// http://localhost:4318/v1/traces. Required.
	Endpoint string
	// Headers are sent with every request (an API key, a tenant). Their
	// values never appear in an error.
	Headers map[string]string
	// Timeout bounds one export, retries included; default DefaultTimeout.
	Timeout time.Duration
	// Gzip compresses request bodies (Content-Encoding: gzip).
	Gzip bool
	// TLS is the client's TLS configuration (custom roots, a client
	// certificate); nil is the system's roots. Ignored with Client set.
	TLS *tls.Config
	// Client sends the requests; nil is a client of the exporter's own
	// (http.DefaultTransport's settings, proxy from the environment, TLS).
	Client *http.Client
}

// Exporter sends spans to an OTLP/HTTP collector. It is safe for
// concurrent use.
type Exporter struct {
	endpoint string
	safeURL  string // endpoint without its query, for errors
	headers  http.Header
	secrets  []string // header values, removed from anything quoted
	timeout  time.Duration
	gzip     bool
	client   *http.Client
	own      bool // client made here: Shutdown closes its connections
	stopped  atomic.Bool
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// New returns an exporter sending to opts.Endpoint, which must be an http
// or https URL.
func New(opts Options) (*Exporter, error) {
	u, err := url.Parse(opts.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("otlphttp: the endpoint is not an http or https URL")
	}
	if opts.Timeout < 0 {
		return nil, errors.New("otlphttp: negative timeout")
	}
	safe := *u
	safe.RawQuery, safe.User = "", nil
	e := &Exporter{
		endpoint: opts.Endpoint,
		safeURL:  safe.String(),
		headers:  http.Header{},
		timeout:  opts.Timeout,
		gzip:     opts.Gzip,
		client:   opts.Client,
	}
	if e.timeout == 0 {
		e.timeout = DefaultTimeout
	}
	for k, v := range opts.Headers {
		e.headers.Set(k, v)
		if v != "" {
			e.secrets = append(e.secrets, v)
		}
	}
	if e.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if opts.TLS != nil {
			tr.TLSClientConfig = opts.TLS.Clone()
		}
		e.client, e.own = &http.Client{Transport: tr}, true
	}
	return e, nil
}

// ExportSpans sends spans in one request (see the package doc for what is
// retried). It returns when the collector has taken them, answered with
// an error that is not worth retrying, or Options.Timeout or ctx ran out.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	if e.stopped.Load() {
		return errors.New("otlphttp: exporter is shut down")
	}
	body := AppendRequest(nil, spans)
	if e.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body) // a bytes.Buffer does not fail
		zw.Close()
		body = buf.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		retryAfter, err := e.send(ctx, body, len(spans))
		if err == nil || retryAfter < 0 {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("otlphttp: export of %d spans gave up after %d attempts: %w", len(spans), attempt, err)
		}
		wait := retryAfter
		if wait == 0 {
			wait = backoff(attempt)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("otlphttp: export of %d spans gave up after %d attempts (the next would come after the timeout): %w", len(spans), attempt, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("otlphttp: export of %d spans gave up after %d attempts: %w", len(spans), attempt, err)
		case <-t.C:
		}
	}
}

// send makes one attempt. A nil error is success; otherwise retryAfter is
// negative if the error is final, else how long the collector asked to
// wait (0: it did not say).
func (e *Exporter) send(ctx context.Context, body []byte, n int) (retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("otlphttp: request to %s: %w", e.safeURL, unwrapURLError(err))
	}
	for k, v := range e.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		err = fmt.Errorf("otlphttp: POST %s: %w", e.safeURL, unwrapURLError(err))
		if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
			return -1, err // the next attempt would not do better
		}
		// The connection failed or the context ended: worth retrying
		// while time is left (ExportSpans checks the context).
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // let the connection be reused
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if rejected, msg := parsePartialSuccess(data); rejected != 0 || msg != "" {
			return -1, &PartialSuccessError{Rejected: rejected, Spans: n, Message: e.snippet([]byte(msg))}
		}
		return 0, nil
	case code == http.StatusTooManyRequests || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		return parseRetryAfter(resp.Header.Get("Retry-After")), &HTTPError{StatusCode: code, Body: e.snippet(data)}
	default:
		return -1, &HTTPError{StatusCode: code, Body: e.snippet(data)}
	}
}

// Shutdown stops the exporter: later exports fail. It sends nothing (the
// SDK's span processor flushes before it calls Shutdown).
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.stopped.Store(true)
	if e.own {
		e.client.CloseIdleConnections()
	}
	return ctx.Err()
}

// HTTPError is a collector's answer other than 2xx.
type HTTPError struct {
	StatusCode int
	// Body is the start of the response body, printable characters only,
	// without the values of the exporter's headers.
	Body string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("otlphttp: collector answered HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// PartialSuccessError is a collector's 2xx answer saying it rejected some
// of the spans (OTLP's partial_success).
type PartialSuccessError struct {
	// Rejected of Spans were not accepted.
	Rejected int64
	Spans    int
	// Message is the collector's explanation, printable and truncated.
	Message string
}

func (e *PartialSuccessError) Error() string {
	msg := fmt.Sprintf("otlphttp: collector rejected %d of %d spans", e.Rejected, e.Spans)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// snippet makes a response text fit for an error and a terminal: the
// exporter's header values removed, control and non-printable characters
// replaced, at most snippetLen bytes.
func (e *Exporter) snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for _, v := range e.secrets {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > snippetLen {
		cut := snippetLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// unwrapURLError drops the *url.Error around err: its message quotes the
// whole URL, query included.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// parseRetryAfter is a Retry-After header's wait: delay-seconds or an
// HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// backoff is the wait before retry number attempt (1, 2, ...).
func backoff(attempt int) time.Duration {
	d := firstBackoff << min(attempt-1, 10)
	d = min(d, maxBackoff)
	return d - d/4 + rand.N(d/2+1)
}
