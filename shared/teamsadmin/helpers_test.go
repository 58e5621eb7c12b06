package teamsadmin_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/teamsadmin"
)

// testToken is what staticCred hands out; no error or log line may contain it.
const testToken = "eyJ0eXAi.test-token-7f3c9a.c2lnbmF0dXJl"

// staticCred is an azcore.TokenCredential that asserts the requested scope.
type staticCred struct {
	t     testing.TB
	token string
	err   error
}

func (c staticCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(o.Scopes) != 1 || o.Scopes[0] != teamsadmin.DefaultScope {
		c.t.Errorf("token scopes = %q, want [%q]", o.Scopes, teamsadmin.DefaultScope)
	}
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// logBuffer is a concurrency-safe sink for a debug-level slog logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newClient starts a TLS test server for h and returns a Client for it. The
// test fails at cleanup if the token ever reached the logs.
func newClient(t *testing.T, h http.Handler, edit ...func(*teamsadmin.Config)) *teamsadmin.Client {
	t.Helper()
	ts := httptest.NewTLSServer(h)
	t.Cleanup(ts.Close)
	cfg := teamsadmin.DefaultConfig()
	cfg.BaseURL = ts.URL
	cfg.MaxRetryWait = 200 * time.Millisecond
	cfg.Timeout = 5 * time.Second
	for _, e := range edit {
		e(&cfg)
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testToken) {
			t.Errorf("bearer token found in logs:\n%s", logs.String())
		}
	})
	c, err := teamsadmin.New(cfg, staticCred{t: t, token: testToken},
		teamsadmin.WithHTTPClient(ts.Client()), teamsadmin.WithLogger(logger))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// wantOutcome is wantErr, or a check that err is nil when code is "".
func wantOutcome(t *testing.T, err error, code apperr.Code, reason string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	wantErr(t, err, code, reason)
}

// wantErr checks err's code and reason and that it does not leak the token.
func wantErr(t *testing.T, err error, code apperr.Code, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	if got := apperr.CodeOf(err); got != code {
		t.Errorf("code = %q, want %q (err: %v)", got, code, err)
	}
	if got := string(apperr.ReasonOf(err)); got != reason {
		t.Errorf("reason = %q, want %q (err: %v)", got, reason, err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the bearer token: %v", err)
	}
}

// recorded is a request as a handler saw it.
type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

// recorder wraps h and keeps every request it serves.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), string(body)})
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.h.ServeHTTP(w, req)
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// optional serves pattern on mux with r, or with a 500 when r is nil (a
// call the test does not expect), and reports whether it was called.
func optional(mux *http.ServeMux, pattern string, r *reply) *atomic.Bool {
	answer := reply{status: http.StatusInternalServerError}
	if r != nil {
		answer = *r
	}
	h := script(answer)
	var called atomic.Bool
	mux.HandleFunc(pattern, func(w http.ResponseWriter, req *http.Request) {
		called.Store(true)
		h(w, req)
	})
	return &called
}

// reply is one scripted response.
type reply struct {
	status int
	header map[string]string
	body   string
}

// script answers requests for one method+path pattern with the replies in
// order, repeating the last one.
func script(replies ...reply) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		r := replies[min(n, len(replies)-1)]
		n++
		mu.Unlock()
		for k, v := range r.header {
			w.Header().Set(k, v)
		}
		if r.body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(r.status)
		io.WriteString(w, r.body)
	}
}

// newTLS starts a TLS test server for h, closed at cleanup.
func newTLS(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewTLSServer(h)
	t.Cleanup(ts.Close)
	return ts
}
