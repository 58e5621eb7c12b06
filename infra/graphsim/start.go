package graphsim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"
)

// Running is a simulator listening with TLS.
type Running struct {
	// URL is the base URL, e.g. https://127.0.0.1:8443; Graph is at URL+"/v1.0"
	// and the authority host is URL itself.
	URL string
	// CertPool trusts the simulator's self-signed certificate.
	CertPool *x509.CertPool
	// CACertPEM is that certificate in PEM form.
	CACertPEM []byte
	Server    *Server

	srv       *http.Server
	closeOnce sync.Once
	done      chan struct{}
}

// maxIdleConns is how many idle connections to the simulator a Client
// keeps: enough for every concurrent caller of a busy pipeline, so that
// requests reuse connections instead of paying a TLS handshake each
// (net/http keeps only 2 per host by default).
const maxIdleConns = 512

// Client returns an HTTP client that trusts the simulator's certificate.
// Each call returns a client with its own connection pool; share one.
func (r *Running) Client() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: r.CertPool, MinVersion: tls.VersionTLS12}
	t.MaxIdleConns = maxIdleConns
	t.MaxIdleConnsPerHost = maxIdleConns
	return &http.Client{Transport: t}
}

// Close stops the listener and waits for the server to finish.
func (r *Running) Close() {
	r.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.srv.Shutdown(ctx); err != nil {
			_ = r.srv.Close()
		}
		<-r.done
	})
}

// Start builds a simulator from cfg and serves it with TLS on addr
// ("127.0.0.1:0" picks a free port), using a self-signed certificate for
// 127.0.0.1, ::1 and localhost generated at start. It stops when ctx is done
// or Close is called.
func Start(ctx context.Context, cfg Config, addr string) (*Running, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	cert, certPEM, err := selfSignedCert()
	if err != nil {
		return nil, fmt.Errorf("graphsim: certificate: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("graphsim: listen: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		// net/http's own complaints (TLS handshakes cut short by clients
		// killed mid-call, as the crash test does) go to the simulator's
		// logger at debug level, not to stderr.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	r := &Running{
		URL:       "https://" + urlHost(ln.Addr().(*net.TCPAddr)),
		CertPool:  pool,
		CACertPEM: certPEM,
		Server:    s,
		srv:       srv,
		done:      make(chan struct{}),
	}
	go func() {
		defer close(r.done)
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("graphsim: serve", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			r.Close()
		case <-r.done:
		}
	}()
	return r, nil
}

// urlHost names the listener as a URL host: loopback addresses as 127.0.0.1
// or [::1], the wildcard address as 127.0.0.1.
func urlHost(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// selfSignedCert makes an ECDSA P-256 certificate, valid for a year, for
// 127.0.0.1, ::1 and localhost, that is its own CA.
func selfSignedCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "graphsim", Organization: []string{"raprov Graph simulator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
