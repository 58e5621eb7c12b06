//go:build linux

package e2e_test

// Result callbacks on AWS: the real complete function, built with the
// e2ehooks tag (functions/complete/hooks_e2e.go) so that its callback client
// resolves hooks.contoso.com to this machine, signs with the key it read from
// Secrets Manager (RAPROV_CALLBACK_SECRET_ARN) and posts to a TLS receiver
// here, which verifies what docs/http.md ("Result callbacks") promises, with
// code of its own.

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
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
)

const (
	// receiverHost is the callback receiver's public-looking name, which
	// only the e2ehooks build of complete resolves to 127.0.0.1.
	receiverHost = "hooks.contoso.com"
	// receiverToken is a token in the callback URL's query.
	receiverToken = "q-t0ken-aws-e2e"
	// signatureMaxAge is how far a signature's timestamp may be from the
	// receiver's clock (docs/http.md).
	signatureMaxAge = 5 * time.Minute
)

// received is one POST the receiver got.
type received struct {
	method string
	url    *url.URL
	header http.Header
	body   []byte
	status int
	at     time.Time
}

// receiver is a TLS callback receiver for receiverHost.
type receiver struct {
	srv    *httptest.Server
	host   string // receiverHost:port
	caFile string // its certificate, PEM, for the function's SSL_CERT_FILE

	mu     sync.Mutex
	posts  []received
	answer func(path string, n int) int // status of the nth POST (from 1) to path
}

func startReceiver(t *testing.T, answer func(path string, n int) int) *receiver {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: receiverHost},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{receiverHost},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{answer: answer, caFile: filepath.Join(t.TempDir(), "receiver-ca.pem")}
	if err := os.WriteFile(r.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	u, err := url.Parse(r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.host = net.JoinHostPort(receiverHost, u.Port())
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	n := 1
	for _, p := range r.posts {
		if p.url.Path == req.URL.Path {
			n++
		}
	}
	status := r.answer(req.URL.Path, n)
	r.posts = append(r.posts, received{method: req.Method, url: req.URL, header: req.Header.Clone(), body: body, status: status, at: time.Now()})
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) url(path string) string {
	return "https://" + r.host + path + "?token=" + receiverToken
}

func (r *receiver) postsTo(path string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, p := range r.posts {
		if p.url.Path == path {
			out = append(out, p)
		}
	}
	return out
}

// verifySignature checks an X-Raprov-Signature value as docs/http.md tells
// a receiver to: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with
// the callback key, the timestamp within signatureMaxAge of now, other
// members ignored, one matching v1 enough.
func verifySignature(key []byte, header string, body []byte, now time.Time) error {
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
	if age := now.Sub(time.Unix(sec, 0)); age > signatureMaxAge || age < -signatureMaxAge {
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

// callbackBody is a callback's body as a receiver reads it.
type callbackBody struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	DataContentType string `json:"datacontenttype"`
	Data            struct {
		Request struct {
			RequestID string `json:"requestId"`
		} `json:"request"`
		Failure *struct {
			Reason string `json:"reason"`
		} `json:"failure"`
	} `json:"data"`
}

// checkCallback checks one POST against the documented contract: the URL
// as given, the headers, the signature with key, a CloudEvent body.
func checkCallback(t *testing.T, p received, path string, key []byte) callbackBody {
	t.Helper()
	if p.method != http.MethodPost || p.url.Path != path || p.url.Query().Get("token") != receiverToken {
		t.Errorf("%s: %s %s, want POST to the callback URL as given", path, p.method, p.url)
	}
	for name, want := range map[string]string{"Content-Type": "application/cloudevents+json", "User-Agent": "raprov-callback"} {
		if got := p.header.Get(name); got != want {
			t.Errorf("%s: header %s %q, want %q", path, name, got, want)
		}
	}
	sig := p.header.Get("X-Raprov-Signature")
	if err := verifySignature(key, sig, p.body, p.at); err != nil {
		t.Errorf("%s: signature %q does not verify with the key in Secrets Manager: %v", path, sig, err)
	}
	if verifySignature(append(key, 'x'), sig, p.body, p.at) == nil {
		t.Errorf("%s: the signature verifies with another key", path)
	}
	var b callbackBody
	if err := json.Unmarshal(p.body, &b); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", path, err, p.body)
	}
	if b.SpecVersion != "1.0" || b.Source != events.Source(events.StepComplete) || b.DataContentType != "application/json" ||
		b.Subject == "" || b.Subject != b.Data.Request.RequestID {
		t.Errorf("%s: envelope %+v, want a CloudEvent 1.0 from %s about its request", path, b, events.Source(events.StepComplete))
	}
	return b
}

// TestE2ECallback: two requests with a callbackUrl run through the real
// functions. The one that completes is posted once; the one that fails
// (its number is not in the inventory) meets a receiver that answers 503
// first, and is posted again after complete's retry through its SQS
// queue, with the same event id. Both callbacks are signed with the key
// complete read from Secrets Manager.
func TestE2ECallback(t *testing.T) {
	t.Parallel()
	rcv := startReceiver(t, func(path string, n int) int {
		if path == "/raprov/failed" && n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	s := newStack(t, stackConfig{
		callbackHooks: true,
		env: map[string]map[string]string{events.StepComplete: {
			"RAPROV_E2E_CALLBACK_RESOLVE": receiverHost + "=127.0.0.1",
			"SSL_CERT_FILE":               rcv.caFile, // trust the receiver's certificate
		}},
	})
	ok := request("e2e-callback-ok", aa, "", "")
	ok.CallbackURL = rcv.url("/raprov/ok")
	failed := request("e2e-callback-failed", cq, "+12065550199", "")
	failed.CallbackURL = rcv.url("/raprov/failed")
	s.submit(t, ok)
	s.submit(t, failed)
	outs := map[string]outcome{
		ok.RequestID:     s.await(t, ok.RequestID, ledger.Completed),
		failed.RequestID: s.await(t, failed.RequestID, ledger.Failed),
	}
	s.quiesce(t)

	for _, tc := range []struct {
		id, path, typ, reason string
		posts                 int
	}{
		{ok.RequestID, "/raprov/ok", events.TypeProvisioningCompleted, "", 1},
		{failed.RequestID, "/raprov/failed", events.TypeProvisioningFailed, string(events.ReasonNumberNotFound), 2},
	} {
		o := outs[tc.id]
		posts := rcv.postsTo(tc.path)
		if len(posts) != tc.posts {
			t.Errorf("%s: %d callbacks, want %d", tc.id, len(posts), tc.posts)
		}
		for i, p := range posts {
			b := checkCallback(t, p, tc.path, []byte(callbackKey))
			if b.Type != tc.typ || b.Subject != tc.id || b.ID != o.final.ID {
				t.Errorf("%s: callback %d: %s %s id %s, want %s id %s (the final event on the results queue)", tc.id, i+1, b.Type, b.Subject, b.ID, tc.typ, o.final.ID)
			}
			switch {
			case tc.reason == "" && b.Data.Failure != nil:
				t.Errorf("%s: completed callback with failure %+v", tc.id, b.Data.Failure)
			case tc.reason != "" && (b.Data.Failure == nil || b.Data.Failure.Reason != tc.reason):
				t.Errorf("%s: failure %+v, want reason %s", tc.id, b.Data.Failure, tc.reason)
			}
		}
		if len(o.results) != 1 {
			t.Errorf("%s: %d final events on the results queue, want 1", tc.id, len(o.results))
		}
	}
	if n := s.count(t, s.queues.DLQ(events.StepComplete)); n != 0 {
		t.Errorf("complete's dead-letter queue holds %d messages, want none", n)
	}
	if n := s.secrets.readsOf(callbackSecretARN); n != 1 {
		t.Errorf("callback key read %d times, want once (complete's start)", n)
	}
}
