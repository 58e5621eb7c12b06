package callbacktest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/callback"
	"github.com/raprov/raprov/shared/callback/callbacktest"
)

// TestVerify: a signature worked out by hand from the documented algorithm
// verifies; another key, body, timestamp or a stale one does not.
func TestVerify(t *testing.T) {
	key := []byte("k")
	body := []byte(`{"a":1}`)
	now := time.Unix(1700000000, 0)
	// HMAC-SHA256(key "k", "1700000000.{"a":1}"), computed independently.
	const byHand = "t=1700000000,v1=1b6ad1bc9bf48c52ce01939866d5877c6cc4e87ddad27e16673cb8c4964394a3"
	sig := callback.Sign(key, now, body) // the product's signer, as a cross-check only
	for _, tc := range []struct {
		name   string
		key    []byte
		header string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"worked by hand", key, byHand, body, now, true},
		{"product signature", key, sig, body, now, true},
		{"extra members and a second v1", key, "t=1700000000, v0=zz, v1=00," + strings.TrimPrefix(sig, "t=1700000000,"), body, now, true},
		{"other key", []byte("k2"), sig, body, now, false},
		{"other body", key, sig, []byte(`{"a":2}`), now, false},
		{"too old", key, sig, body, now.Add(callbacktest.MaxAge + time.Second), false},
		{"too new", key, sig, body, now.Add(-callbacktest.MaxAge - time.Second), false},
		{"two timestamps", key, "t=1700000000," + sig, body, now, false},
		{"no v1", key, "t=1700000000", body, now, false},
		{"malformed", key, "garbage", body, now, false},
	} {
		if err := callbacktest.Verify(tc.key, tc.header, tc.body, tc.now); (err == nil) != tc.ok {
			t.Errorf("%s: Verify(%q) = %v, want ok %v", tc.name, tc.header, err, tc.ok)
		}
	}
}

// TestReceiver: a client that resolves the name to loopback and trusts the
// pool (or the PEM) posts; the receiver answers per path and records.
func TestReceiver(t *testing.T) {
	const name = "hooks.example.com"
	rcv := callbacktest.Start(t, name, func(path string, n int) int {
		if path == "/flaky" && n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	fromPEM := x509.NewCertPool()
	if !fromPEM.AppendCertsFromPEM(rcv.PEM) {
		t.Fatal("PEM holds no certificate")
	}
	for _, pool := range []*x509.CertPool{rcv.Pool, fromPEM} {
		client := &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
			},
		}}
		for range 2 {
			resp, err := client.Post(rcv.URL("/flaky", "tok"), "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	posts := rcv.WaitPosts(t, "/flaky", 4, time.Second)
	if len(posts) != 4 || posts[0].Status != http.StatusServiceUnavailable || posts[1].Status != http.StatusNoContent ||
		posts[0].Method != http.MethodPost || posts[0].URL.Query().Get("token") != "tok" || string(posts[0].Body) != `{}` {
		t.Errorf("posts %+v", posts)
	}
	if got := rcv.PostsTo("/other"); len(got) != 0 {
		t.Errorf("posts to /other: %+v", got)
	}
	if !strings.HasPrefix(rcv.Host, name+":") {
		t.Errorf("Host %q, want %s:port", rcv.Host, name)
	}
}
