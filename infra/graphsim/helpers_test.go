package graphsim_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
)

// env is a simulator behind an httptest TLS server and a client holding a
// Graph token.
type env struct {
	sim        *graphsim.Server
	ts         *httptest.Server
	graphToken string
	// clock is the simulator's clock when the env was made by
	// newClockEnv; nil on the real clock.
	clock *graphsim.FakeClock
}

// t0 is where the tests' FakeClock starts: a whole second, so that token
// expiry (whole seconds in a JWT) falls exactly on the lifetime.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newClockEnv is newEnv on a FakeClock showing t0: time moves only when
// the test calls e.clock.Advance, so timing rules can be checked exactly
// on any machine. The HTTP server, TLS and the client are real.
func newClockEnv(t *testing.T, cfg graphsim.Config) *env {
	t.Helper()
	clock := graphsim.NewFakeClock(t0)
	cfg.Clock = clock
	e := newEnv(t, cfg)
	e.clock = clock
	return e
}

func newEnv(t *testing.T, cfg graphsim.Config) *env {
	t.Helper()
	sim, err := graphsim.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewTLSServer(sim.Handler())
	t.Cleanup(ts.Close)
	e := &env{sim: sim, ts: ts}
	e.graphToken = e.token(t, graphsim.GraphScope)
	return e
}

// tokenRequest posts a client-credentials request and returns the response.
func (e *env) tokenRequest(t *testing.T, tenant string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := e.ts.Client().PostForm(e.ts.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func secretForm(scope string) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {graphsim.DefaultClientID},
		"client_secret": {graphsim.DefaultClientSecret},
		"scope":         {scope + " openid offline_access profile"},
	}
}

func (e *env) token(t *testing.T, scope string) string {
	t.Helper()
	resp, b := e.tokenRequest(t, graphsim.DefaultTenantID, secretForm(scope))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	return decode[tokenResponse](t, b).AccessToken
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	Error        string `json:"error"`
	ErrorCodes   []int  `json:"error_codes"`
	Description  string `json:"error_description"`
	CorrelatedID string `json:"correlation_id"`
}

// do sends a request with the Graph token. body is sent as is when it is a
// string, else as JSON.
func (e *env) do(t *testing.T, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	return e.doWith(t, e.graphToken, method, path, body, nil)
}

func (e *env) doWith(t *testing.T, token, method, path string, body any, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
		Details []struct {
			Code   string `json:"code"`
			Target string `json:"target"`
		} `json:"details"`
	} `json:"error"`
}

// wantError checks a Graph error response and returns its body.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code, message string) graphError {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	g := decode[graphError](t, body)
	if g.Error.Code != code {
		t.Errorf("code = %q, want %q", g.Error.Code, code)
	}
	if !strings.Contains(g.Error.Message, message) {
		t.Errorf("message = %q, want it to contain %q", g.Error.Message, message)
	}
	if g.Error.InnerError.RequestID == "" || g.Error.InnerError.RequestID != resp.Header.Get("request-id") {
		t.Errorf("innerError.request-id = %q, header %q", g.Error.InnerError.RequestID, resp.Header.Get("request-id"))
	}
	return g
}

func wantStatus(t *testing.T, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status = %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
}

// newUser is a valid POST /users body.
func newUser(alias string) map[string]any {
	return map[string]any{
		"@odata.type":       "#microsoft.graph.user",
		"accountEnabled":    false,
		"displayName":       "RA " + alias,
		"mailNickname":      strings.ReplaceAll(alias, "'", ""),
		"userPrincipalName": alias + "@contoso.com",
		"passwordProfile":   map[string]any{"password": "Xy7!kq2#Lm9$", "forceChangePasswordNextSignIn": false},
		"usageLocation":     "US",
		"department":        "Microsoft Communication Application Instance",
	}
}

type userBody struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	UsageLocation     string `json:"usageLocation"`
	Department        string `json:"department"`
	AssignedLicenses  []struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	} `json:"assignedLicenses"`
}

// createUser creates a user and returns its id.
func (e *env) createUser(t *testing.T, body map[string]any) string {
	t.Helper()
	resp, b := e.do(t, http.MethodPost, "/v1.0/users", body)
	wantStatus(t, resp, b, http.StatusCreated)
	return decode[userBody](t, b).ID
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func tlsPool(t *testing.T, pemData []byte) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("no certificate in PEM")
	}
	return pool
}

func mustRead(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
