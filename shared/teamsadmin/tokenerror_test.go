package teamsadmin_test

// How token acquisition failures become application errors, with the
// credentials raprov really uses: azidentity's client-secret credential
// (app sign-in) and teamsauth's delegated credential.

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/teamsadmin"
	"github.com/raprov/raprov/shared/teamsauth"
)

// secretCredential is azidentity's client-secret credential for the
// simulator's tenant and app at authority, without retries.
func secretCredential(t *testing.T, authority, secret string, hc *http.Client) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(graphsim.DefaultTenantID, graphsim.DefaultClientID, secret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority},
				Transport: hc,
				Retry:     policy.RetryOptions{MaxRetries: -1},
			},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// backEnd is a Teams admin back end that counts the calls that reach it.
func backEnd(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{h: http.NotFoundHandler()}
	return newTLS(t, rec), rec
}

// clientWith is a Client of the back end at ts authenticating with cred,
// without in-process retries.
func clientWith(t *testing.T, ts *httptest.Server, cred azcore.TokenCredential) *teamsadmin.Client {
	t.Helper()
	cfg := teamsadmin.DefaultConfig()
	cfg.BaseURL = ts.URL
	cfg.MaxRetries = 0
	cfg.Timeout = 10 * time.Second
	c, err := teamsadmin.New(cfg, cred, teamsadmin.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An authority that cannot be reached is a transient failure: azidentity
// marks its error NonRetriable, but nobody refused anything.
func TestTokenUnreachableAuthority(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	authority := "https://" + l.Addr().String() + "/"
	l.Close() // connection refused from now on
	ts, rec := backEnd(t)
	c := clientWith(t, ts, secretCredential(t, authority, graphsim.DefaultClientSecret, ts.Client()))

	_, err = c.ApplicationInstance(context.Background(), objID)

	wantErr(t, err, apperr.Unavailable, "")
	if !apperr.IsTransient(err) {
		t.Errorf("error %v is not transient", err)
	}
	if strings.Contains(err.Error(), graphsim.DefaultClientSecret) {
		t.Errorf("error %v carries the secret", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent without a token", n)
	}
}

// A token endpoint that answers 503 or 429 is transient too; a refused
// secret is not.
func TestTokenEndpointStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		wantCode   apperr.Code
		wantReason string
	}{
		{"unavailable", http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`, apperr.Unavailable, ""},
		{"throttled", http.StatusTooManyRequests, `{"error":"temporarily_unavailable"}`, apperr.Throttled, ""},
		{"refused", http.StatusUnauthorized, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`,
			apperr.Forbidden, "permission_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idp := newTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			ts, rec := backEnd(t)
			c := clientWith(t, ts, secretCredential(t, idp.URL+"/", "the-secret-4f2a", idp.Client()))

			_, err := c.ApplicationInstance(context.Background(), objID)

			wantErr(t, err, tt.wantCode, tt.wantReason)
			if got := apperr.RetryAfterOf(err); tt.wantCode != apperr.Forbidden && got != 7*time.Second {
				t.Errorf("RetryAfter = %v, want the token endpoint's 7s", got)
			}
			if strings.Contains(err.Error(), "the-secret-4f2a") || strings.Contains(err.Error(), "AADSTS") {
				t.Errorf("error %v carries the secret or the token endpoint's response", err)
			}
			if n := len(rec.requests()); n != 0 {
				t.Errorf("%d requests sent without a token", n)
			}
		})
	}
}

// A client secret the simulator's token endpoint refuses is a permanent
// permission_denied naming the credentials, never the secret.
func TestTokenRefusedSecret(t *testing.T) {
	t.Parallel()
	srv, err := graphsim.New(graphsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sim := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(sim.Close)
	const wrong = "wrong-secret-81c0"
	c := clientWith(t, sim, secretCredential(t, sim.URL+"/", wrong, sim.Client()))

	_, err = c.ApplicationInstance(context.Background(), teamssim.SeedReceptionAccountID)

	wantErr(t, err, apperr.Forbidden, "permission_denied")
	if apperr.IsTransient(err) {
		t.Errorf("error %v is transient", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "credentials") || !strings.Contains(msg, "HTTP 401") {
		t.Errorf("error %q does not say the credentials were refused", msg)
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, "AADSTS") {
		t.Errorf("error %q carries the secret or the token endpoint's response", msg)
	}
}

// memStore is a teamsauth.Store in memory.
type memStore struct{ tok teamsauth.Token }

func (m *memStore) Load(context.Context) (teamsauth.Token, error) { return m.tok, nil }
func (m *memStore) Save(_ context.Context, t teamsauth.Token) error {
	m.tok = t
	return nil
}

// A delegated sign-in the identity platform no longer honours is a
// permanent permission_denied that keeps teamsauth's advice: run
// "raprov login" again. Neither token appears.
func TestTokenRevokedDelegatedSignIn(t *testing.T) {
	t.Parallel()
	const refresh = "0.refresh-token-secret-b7e1"
	idp := newTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"error": "invalid_grant",
			"error_description": "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.\r\n" +
				"Trace ID: 1b2c Correlation ID: 3d4e Timestamp: 2025-01-01 00:00:00Z",
			"error_codes": []int{50173},
		})
	}))
	ep := teamsauth.Endpoint{AuthorityHost: idp.URL + "/", TenantID: graphsim.DefaultTenantID, ClientID: graphsim.DefaultClientID,
		Scope: teamsadmin.DefaultScope, HTTPClient: idp.Client()}
	store := &memStore{tok: teamsauth.Token{RefreshToken: refresh, Account: "admin@contoso.com",
		AuthorityHost: ep.AuthorityHost, TenantID: ep.TenantID, ClientID: ep.ClientID, Scope: ep.Scope}}
	cred, err := teamsauth.NewCredential(ep, store, teamsauth.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ts, rec := backEnd(t)
	c := clientWith(t, ts, cred)

	_, err = c.ApplicationInstance(context.Background(), objID)

	wantErr(t, err, apperr.Forbidden, "permission_denied")
	e, _ := apperr.As(err)
	// The message is what travels in provisioning.failed and the ledger.
	for _, want := range []string{`run "raprov login" again`, "revoked", "admin@contoso.com"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q lacks %q", e.Message, want)
		}
	}
	if strings.Contains(e.Message, "refused the app's credentials") {
		t.Errorf("message %q blames the app's credentials", e.Message)
	}
	if strings.Contains(err.Error(), refresh) {
		t.Errorf("error %v carries the refresh token", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent without a token", n)
	}
}
