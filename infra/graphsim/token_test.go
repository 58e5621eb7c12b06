package graphsim_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"

	"github.com/raprov/raprov/infra/graphsim"
)

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	with := func(change func(url.Values)) url.Values {
		f := secretForm(graphsim.GraphScope)
		change(f)
		return f
	}
	tests := []struct {
		name    string
		tenant  string
		form    url.Values
		status  int
		errCode string
		aadsts  int
	}{
		{"secret", graphsim.DefaultTenantID, secretForm(graphsim.GraphScope), 200, "", 0},
		{"teams admin scope", graphsim.DefaultTenantID, secretForm(graphsim.TeamsAdminScope), 200, "", 0},
		{"verified domain as tenant", "contoso.onmicrosoft.com", secretForm(graphsim.GraphScope), 200, "", 0},
		{"wrong secret", graphsim.DefaultTenantID, with(func(f url.Values) { f.Set("client_secret", "nope") }), 401, "invalid_client", 7000215},
		{"no credential", graphsim.DefaultTenantID, with(func(f url.Values) { f.Del("client_secret") }), 401, "invalid_client", 7000218},
		{"unknown tenant", "11111111-1111-1111-1111-111111111111", secretForm(graphsim.GraphScope), 400, "invalid_request", 90002},
		{"unknown client", graphsim.DefaultTenantID, with(func(f url.Values) { f.Set("client_id", "22222222-2222-2222-2222-222222222222") }), 400, "unauthorized_client", 700016},
		{"scope without .default", graphsim.DefaultTenantID, with(func(f url.Values) { f.Set("scope", "User.Read.All") }), 400, "invalid_scope", 1002012},
		{"unknown resource", graphsim.DefaultTenantID, with(func(f url.Values) { f.Set("scope", "https://vault.azure.net/.default") }), 400, "invalid_resource", 500011},
		{"other grant", graphsim.DefaultTenantID, with(func(f url.Values) { f.Set("grant_type", "password") }), 400, "unsupported_grant_type", 70003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.tokenRequest(t, tt.tenant, tt.form)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			got := decode[tokenResponse](t, b)
			if tt.status == 200 {
				if got.TokenType != "Bearer" || got.AccessToken == "" || got.ExpiresIn <= 0 {
					t.Errorf("token response = %+v", got)
				}
				return
			}
			if got.Error != tt.errCode || len(got.ErrorCodes) != 1 || got.ErrorCodes[0] != tt.aadsts {
				t.Errorf("error = %q %v, want %q [%d]", got.Error, got.ErrorCodes, tt.errCode, tt.aadsts)
			}
			if strings.Contains(string(b), graphsim.DefaultClientSecret) || strings.Contains(string(b), "nope") {
				t.Errorf("error response echoes the secret: %s", b)
			}
		})
	}
	if got := e.sim.State().TokensIssued[graphsim.TeamsAdminScope]; got != 1 {
		t.Errorf("TokensIssued[teams] = %d, want 1", got)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	resp, b := e.doWith(t, "", http.MethodGet, "/"+graphsim.DefaultTenantID+"/v2.0/.well-known/openid-configuration", nil, nil)
	wantStatus(t, resp, b, http.StatusOK)
	cfg := decode[map[string]any](t, b)
	if cfg["token_endpoint"] != e.ts.URL+"/"+graphsim.DefaultTenantID+"/oauth2/v2.0/token" {
		t.Errorf("token_endpoint = %v", cfg["token_endpoint"])
	}
	if iss, _ := cfg["issuer"].(string); !strings.HasPrefix(iss, e.ts.URL+"/") {
		t.Errorf("issuer = %v, want the simulator's host", cfg["issuer"])
	}
	resp, b = e.doWith(t, "", http.MethodGet, "/fabrikam.com/v2.0/.well-known/openid-configuration", nil, nil)
	wantStatus(t, resp, b, http.StatusBadRequest)
	if got := decode[tokenResponse](t, b); got.Error != "invalid_tenant" {
		t.Errorf("error = %q, want invalid_tenant", got.Error)
	}
}

// testCert makes a self-signed RSA certificate for client assertions.
func testCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "raprov"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// assertion builds a client assertion the way MSAL does (PS256, x5t#S256 in
// standard base64).
func assertion(t *testing.T, cert *x509.Certificate, key *rsa.PrivateKey, aud string, exp time.Time) string {
	t.Helper()
	return assertionFor(t, cert, key, aud, time.Now(), exp)
}

// assertionFor is assertion valid from nbf.
func assertionFor(t *testing.T, cert *x509.Certificate, key *rsa.PrivateKey, aud string, nbf, exp time.Time) string {
	t.Helper()
	thumb := sha256.Sum256(cert.Raw)
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.MapClaims{
		"aud": aud, "iss": graphsim.DefaultClientID, "sub": graphsim.DefaultClientID,
		"jti": "1", "nbf": nbf.Unix(), "exp": exp.Unix(),
	})
	tok.Header = map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(thumb[:])}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenClientAssertion(t *testing.T) {
	cert, key := testCert(t)
	_, otherKey := testCert(t)
	e := newEnv(t, graphsim.Config{ClientCertificate: cert})
	endpoint := e.ts.URL + "/" + graphsim.DefaultTenantID + "/oauth2/v2.0/token"
	hour := time.Now().Add(time.Hour)
	tests := []struct {
		name      string
		assertion string
		status    int
		aadsts    int
	}{
		{"signed by the certificate", assertion(t, cert, key, endpoint, hour), 200, 0},
		{"forged signature", assertion(t, cert, otherKey, endpoint, hour), 401, 700027},
		{"other audience", assertion(t, cert, key, "https://login.microsoftonline.com/x/oauth2/v2.0/token", hour), 401, 700212},
		{"expired", assertion(t, cert, key, endpoint, time.Now().Add(-time.Hour)), 401, 700024},
		{"garbage", "not.a.jwt", 400, 50027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{
				"grant_type":            {"client_credentials"},
				"client_id":             {graphsim.DefaultClientID},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {tt.assertion},
				"scope":                 {graphsim.GraphScope},
			}
			resp, b := e.tokenRequest(t, graphsim.DefaultTenantID, form)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if got := decode[tokenResponse](t, b); tt.aadsts != 0 && (len(got.ErrorCodes) != 1 || got.ErrorCodes[0] != tt.aadsts) {
				t.Errorf("error_codes = %v, want [%d]: %s", got.ErrorCodes, tt.aadsts, got.Description)
			}
		})
	}
}

// TestClientAssertionOnTheClock: an assertion's validity period is checked
// against the simulator's clock, with the identity platform's 5 min skew.
func TestClientAssertionOnTheClock(t *testing.T) {
	cert, key := testCert(t)
	e := newClockEnv(t, graphsim.Config{ClientCertificate: cert})
	endpoint := e.ts.URL + "/" + graphsim.DefaultTenantID + "/oauth2/v2.0/token"
	a := assertionFor(t, cert, key, endpoint, t0.Add(10*time.Minute), t0.Add(20*time.Minute))
	request := func() (*http.Response, []byte) {
		return e.tokenRequest(t, graphsim.DefaultTenantID, url.Values{
			"grant_type":            {"client_credentials"},
			"client_id":             {graphsim.DefaultClientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {a},
			"scope":                 {graphsim.GraphScope},
		})
	}
	// Valid from nbf − 5 min to exp + 5 min (exclusive), i.e. t0+5m to t0+25m.
	steps := []struct {
		at     time.Duration // since t0
		status int
	}{
		{5*time.Minute - time.Nanosecond, 401},
		{5 * time.Minute, 200},
		{25*time.Minute - time.Nanosecond, 200},
		{25 * time.Minute, 401},
	}
	for _, s := range steps {
		e.clock.Advance(t0.Add(s.at).Sub(e.clock.Now()))
		resp, b := request()
		if resp.StatusCode != s.status {
			t.Fatalf("at t0+%v: status = %d, want %d: %s", s.at, resp.StatusCode, s.status, b)
		}
		if s.status == 401 {
			if got := decode[tokenResponse](t, b); len(got.ErrorCodes) != 1 || got.ErrorCodes[0] != 700024 {
				t.Errorf("at t0+%v: error_codes = %v, want [700024]", s.at, got.ErrorCodes)
			}
		}
	}
}

// TestAzidentity checks that azidentity's credentials get tokens from the
// simulator the way they would from Microsoft Entra ID.
func TestAzidentity(t *testing.T) {
	cert, key := testCert(t)
	e := newEnv(t, graphsim.Config{ClientCertificate: cert})
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: e.ts.URL + "/"},
		Transport: e.ts.Client(),
	}
	secret, err := azidentity.NewClientSecretCredential(graphsim.DefaultTenantID, graphsim.DefaultClientID, graphsim.DefaultClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	certCred, err := azidentity.NewClientCertificateCredential(graphsim.DefaultTenantID, graphsim.DefaultClientID, []*x509.Certificate{cert}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := azidentity.NewClientSecretCredential(graphsim.DefaultTenantID, graphsim.DefaultClientID, "wrong",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, cred := range map[string]azcore.TokenCredential{"secret": secret, "certificate": certCred} {
		for _, scope := range []string{graphsim.GraphScope, graphsim.TeamsAdminScope} {
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
			if err != nil {
				t.Fatalf("%s %s: %v", name, scope, err)
			}
			path := "/v1.0/subscribedSkus"
			if scope == graphsim.TeamsAdminScope {
				path = "/Teams.PlatformService/v2/ApplicationInstances"
			}
			resp, b := e.doWith(t, tok.Token, http.MethodGet, path, nil, nil)
			wantStatus(t, resp, b, http.StatusOK)
		}
	}
	if _, err := wrong.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphsim.GraphScope}}); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("wrong secret: err = %v, want AADSTS7000215", err)
	}
	var creds []string
	for _, r := range e.sim.Requests() {
		if r.Credential != "" {
			creds = append(creds, r.Credential+" "+r.Scope)
		}
	}
	if len(creds) < 4 {
		t.Errorf("token requests recorded = %q, want 4 successful", creds)
	}
}

func TestBearerRequired(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	teams := e.token(t, graphsim.TeamsAdminScope)
	short := newEnv(t, graphsim.Config{TokenLifetime: time.Millisecond})
	tests := []struct {
		name, token, path, message string
		env                        *env
	}{
		{"no token", "", "/v1.0/users", "Access token is empty.", e},
		{"garbage", "abc.def.ghi", "/v1.0/users", "Access token validation failure.", e},
		{"teams token on graph", teams, "/v1.0/subscribedSkus", "Invalid audience", e},
		{"graph token on teams back end", e.graphToken, "/Teams.PlatformService/v2/ApplicationInstances", "Invalid audience", e},
		{"no token on teams numbers", "", "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments", "Access token is empty.", e},
		{"token of another simulator", short.graphToken, "/v1.0/users", "Access token validation failure.", e},
		{"expired", short.graphToken, "/v1.0/users", "token is expired", short},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := tt.env.doWith(t, tt.token, http.MethodGet, tt.path, nil, nil)
			wantError(t, resp, b, http.StatusUnauthorized, "InvalidAuthenticationToken", tt.message)
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
}

func pemCert(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// TestVerifiedTokenExpires checks that a token accepted once (and then no
// longer parsed on every request) is still refused once it expires, and that
// a token first shown after its expiry is refused too, both exactly at the
// lifetime on the simulator's clock.
func TestVerifiedTokenExpires(t *testing.T) {
	const lifetime = time.Hour
	e := newClockEnv(t, graphsim.Config{TokenLifetime: lifetime})
	unused := e.token(t, graphsim.GraphScope) // issued at t0, first shown after expiry
	get := func(token string) (*http.Response, []byte) {
		return e.doWith(t, token, http.MethodGet, "/v1.0/subscribedSkus", nil, nil)
	}
	for range 2 {
		resp, b := get(e.graphToken)
		wantStatus(t, resp, b, http.StatusOK)
	}
	e.clock.Advance(lifetime - time.Nanosecond)
	resp, b := get(e.graphToken)
	wantStatus(t, resp, b, http.StatusOK)
	e.clock.Advance(time.Nanosecond)
	for _, tok := range []string{e.graphToken, unused} {
		resp, b = get(tok)
		wantError(t, resp, b, http.StatusUnauthorized, "InvalidAuthenticationToken", "token is expired")
	}
	// A new token is good for another lifetime.
	resp, b = get(e.token(t, graphsim.GraphScope))
	wantStatus(t, resp, b, http.StatusOK)
}
