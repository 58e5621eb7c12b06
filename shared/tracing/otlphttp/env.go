package otlphttp

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// The standard exporter variables FromEnv reads. Each has a traces-only
// variant, OTEL_EXPORTER_OTLP_TRACES_<NAME>, which wins when set.
const (
	envPrefix       = "OTEL_EXPORTER_OTLP_"
	envTracesPrefix = "OTEL_EXPORTER_OTLP_TRACES_"

	// EnvHeaders: k=v,k2=v2, values URL-encoded (W3C baggage style).
	EnvHeaders = "HEADERS"
	// EnvTimeout: milliseconds one export may take, retries included.
	EnvTimeout = "TIMEOUT"
	// EnvCompression: gzip or none.
	EnvCompression = "COMPRESSION"
	// EnvCertificate: a PEM file of the CAs to trust instead of the
	// system's.
	EnvCertificate = "CERTIFICATE"
	// EnvClientCertificate and EnvClientKey: PEM files of the client's
	// certificate and key (mTLS), both or neither.
	EnvClientCertificate = "CLIENT_CERTIFICATE"
	EnvClientKey         = "CLIENT_KEY"
)

// EnvOptions are FromEnv's hooks.
type EnvOptions struct {
	// Warn, when not nil, is told of a header entry skipped.
	Warn func(msg string)
	// LoadKeyPair loads the client certificate and key of mTLS
	// (tls.LoadX509KeyPair). Nil refuses OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE
	// and _KEY with an error: parsing and signing with RSA and ECDSA keys
	// is code a binary links only if it references tls.LoadX509KeyPair,
	// about 0.05 MiB of each Lambda zip, so the functions leave it nil and
	// the CLI passes it.
	LoadKeyPair func(certFile, keyFile string) (tls.Certificate, error)
}

// FromEnv returns the Options of an exporter sending to endpoint as the
// standard OTEL_EXPORTER_OTLP_{TRACES_,}{HEADERS,TIMEOUT,COMPRESSION,
// CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY} variables configure it. A
// timeout, compression or certificate that is not valid is an error; a
// malformed header entry is skipped and reported to eo.Warn by its
// position, never its content.
func FromEnv(endpoint string, getenv func(string) string, eo EnvOptions) (Options, error) {
	opts := Options{Endpoint: endpoint}
	lookup := func(name string) (string, string) {
		if v := strings.TrimSpace(getenv(envTracesPrefix + name)); v != "" {
			return envTracesPrefix + name, v
		}
		return envPrefix + name, strings.TrimSpace(getenv(envPrefix + name))
	}
	if name, v := lookup(EnvHeaders); v != "" {
		opts.Headers = ParseHeaders(name, v, eo.Warn)
	}
	if name, v := lookup(EnvTimeout); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return Options{}, fmt.Errorf("%s=%q: want a positive number of milliseconds", name, v)
		}
		opts.Timeout = time.Duration(ms) * time.Millisecond
	}
	switch name, v := lookup(EnvCompression); strings.ToLower(v) {
	case "", "none":
	case "gzip":
		opts.Gzip = true
	default:
		return Options{}, fmt.Errorf("%s=%q: want gzip or none", name, v)
	}
	tlsCfg, err := tlsFromEnv(lookup, eo.LoadKeyPair)
	if err != nil {
		return Options{}, err
	}
	opts.TLS = tlsCfg
	return opts, nil
}

// ParseHeaders reads headers in the form of OTEL_EXPORTER_OTLP_HEADERS,
// k=v,k2=v2: keys are HTTP tokens, values are URL-decoded, both trimmed.
// An entry that is not valid is skipped and warn (when not nil) told of it
// by its position under name, never its value.
func ParseHeaders(name, v string, warn func(string)) map[string]string {
	skip := func(i int, why string) {
		if warn != nil {
			warn(fmt.Sprintf("%s: entry %d skipped: %s", name, i+1, why))
		}
	}
	headers := map[string]string{}
	for i, entry := range strings.Split(v, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		k, val, ok := strings.Cut(entry, "=")
		if !ok {
			skip(i, "no '='")
			continue
		}
		k = strings.TrimSpace(k)
		if !isToken(k) {
			skip(i, "the name is not a valid HTTP header name")
			continue
		}
		val, err := url.PathUnescape(val)
		if err != nil {
			skip(i, "the value is not validly URL-encoded")
			continue
		}
		val = strings.TrimSpace(val)
		if strings.ContainsFunc(val, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			skip(i, "the value holds control characters")
			continue
		}
		headers[k] = val
	}
	return headers
}

// isToken reports whether s is an HTTP token (RFC 9110), the form of a
// header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// tlsFromEnv is the client's TLS configuration from the certificate
// variables, nil when none is set.
func tlsFromEnv(lookup func(string) (string, string), loadKeyPair func(string, string) (tls.Certificate, error)) (*tls.Config, error) {
	caName, caFile := lookup(EnvCertificate)
	certName, certFile := lookup(EnvClientCertificate)
	keyName, keyFile := lookup(EnvClientKey)
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", caName, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s=%s: no PEM certificate in the file", caName, caFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "" && loadKeyPair == nil:
		return nil, fmt.Errorf("%s, %s: this program does not support client certificates", certName, keyName)
	case certFile != "" && keyFile != "":
		cert, err := loadKeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s=%s, %s=%s: %w", certName, certFile, keyName, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case certFile != "":
		return nil, fmt.Errorf("%s is set but not %s", certName, keyName)
	case keyFile != "":
		return nil, fmt.Errorf("%s is set but not %s", keyName, certName)
	}
	return cfg, nil
}
