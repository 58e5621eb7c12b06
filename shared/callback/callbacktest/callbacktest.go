// Package callbacktest is a result-callback receiver for end-to-end tests:
// a TLS server on a public-looking host name with a test certificate of its
// own, recording the POSTs it gets and answering each as the test decides,
// and Verify, the signature check a receiver does, written from
// docs/http.md ("Result callbacks") rather than with the product's signer,
// so that tests using it check the documented contract.
//
// It imports the standard library only.
package callbacktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// MaxAge is how far a signature's timestamp may be from the receiver's
// clock, in either direction (docs/http.md).
const MaxAge = 5 * time.Minute

// Post is one POST the receiver got.
type Post struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
	Status int // what the receiver answered
	At     time.Time
}

// Receiver is a TLS callback receiver for Name.
type Receiver struct {
	Name string         // the host name its certificate names
	Host string         // Name:port
	Pool *x509.CertPool // trusts its certificate
	PEM  []byte         // its certificate, PEM (for SSL_CERT_FILE)

	srv    *httptest.Server
	mu     sync.Mutex
	posts  []Post
	answer func(path string, n int) int // status of the nth POST (from 1) to path
}

// Start starts a receiver whose self-signed certificate names name only;
// answer decides the status of each POST: n counts the POSTs to path, from
// 1. The receiver listens on the loopback address: only a client that
// resolves name there reaches it. It closes when t ends.
func Start(t testing.TB, name string, answer func(path string, n int) int) *Receiver {
	t.Helper()
	cert, pool := certificate(t, name)
	r := &Receiver{
		Name:   name,
		Pool:   pool,
		PEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		answer: answer,
	}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	u, err := url.Parse(r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.Host = net.JoinHostPort(name, u.Port())
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	n := 1
	for _, p := range r.posts {
		if p.URL.Path == req.URL.Path {
			n++
		}
	}
	status := r.answer(req.URL.Path, n)
	r.posts = append(r.posts, Post{Method: req.Method, URL: req.URL, Header: req.Header.Clone(), Body: body, Status: status, At: time.Now()})
	r.mu.Unlock()
	w.WriteHeader(status)
}

// URL is the callback URL of path on the receiver, with token in its query
// as receivers use.
func (r *Receiver) URL(path, token string) string {
	return "https://" + r.Host + path + "?token=" + url.QueryEscape(token)
}

// PostsTo returns the POSTs to path so far.
func (r *Receiver) PostsTo(path string) []Post {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Post
	for _, p := range r.posts {
		if p.URL.Path == path {
			out = append(out, p)
		}
	}
	return out
}

// WaitPosts waits up to timeout until path has had n POSTs, and returns
// them.
func (r *Receiver) WaitPosts(t testing.TB, path string, n int, timeout time.Duration) []Post {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		posts := r.PostsTo(path)
		if len(posts) >= n {
			return posts
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d callbacks after %s, want %d", path, len(posts), timeout, n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// certificate makes a self-signed certificate for host and a pool that
// trusts it.
func certificate(t testing.TB, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{host},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// Verify checks header, an X-Raprov-Signature value, as docs/http.md tells
// a receiver to: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with
// the callback key, the timestamp within MaxAge of now; other members are
// ignored, one matching v1 is enough. It is written from the documentation,
// not with shared/callback's code, on purpose.
func Verify(key []byte, header string, body []byte, now time.Time) error {
	var ts string
	var sigs []string
	for _, member := range strings.Split(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(member), "=")
		if !ok {
			return fmt.Errorf("member %q is not name=value", member)
		}
		switch name {
		case "t":
			if ts != "" {
				return errors.New("two timestamps")
			}
			ts = value
		case "v1":
			sigs = append(sigs, value)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("no timestamp or no v1 signature in %q", header)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > MaxAge || age < -MaxAge {
		return fmt.Errorf("timestamp %s is %s from now", ts, age)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no v1 signature matches")
}
