package graphsim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/raprov/raprov/infra/graphsim"
)

const (
	signInAdmin      = "AdeleV@contoso.com"
	delegatedScope   = graphsim.TeamsAdminScope + " offline_access openid profile"
	appInstancesList = "/Teams.PlatformService/v2/ApplicationInstances"
)

type deviceCodeResponse struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

type delegatedTokens struct {
	tokenResponse
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

func (e *env) post(t *testing.T, endpoint string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := e.ts.Client().PostForm(e.ts.URL+"/"+graphsim.DefaultTenantID+"/oauth2/v2.0/"+endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp, mustRead(t, resp)
}

func (e *env) startSignIn(t *testing.T) deviceCodeResponse {
	t.Helper()
	resp, b := e.post(t, "devicecode", url.Values{"client_id": {graphsim.DefaultClientID}, "scope": {delegatedScope}})
	wantStatus(t, resp, b, http.StatusOK)
	return decode[deviceCodeResponse](t, b)
}

func (e *env) pollDeviceCode(t *testing.T, deviceCode string) (*http.Response, []byte) {
	t.Helper()
	return e.post(t, "token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {graphsim.DefaultClientID}, "device_code": {deviceCode},
	})
}

func (e *env) refresh(t *testing.T, rt string) (*http.Response, []byte) {
	t.Helper()
	return e.post(t, "token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {graphsim.DefaultClientID}, "refresh_token": {rt}, "scope": {graphsim.TeamsAdminScope + " offline_access"},
	})
}

// wantAAD checks an identity platform error answer.
func wantAAD(t *testing.T, resp *http.Response, b []byte, status int, code string, aadsts int) {
	t.Helper()
	got := decode[tokenResponse](t, b)
	if resp.StatusCode != status || got.Error != code || len(got.ErrorCodes) != 1 || got.ErrorCodes[0] != aadsts {
		t.Fatalf("answer = %d %q %v, want %d %q [%d]: %s", resp.StatusCode, got.Error, got.ErrorCodes, status, code, aadsts, b)
	}
}

// signIn runs the device-code flow for u and returns the tokens. The env
// must be on a FakeClock (newClockEnv): it waits the polling interval on it.
func (e *env) signIn(t *testing.T, u graphsim.SignInUser) delegatedTokens {
	t.Helper()
	dc := e.startSignIn(t)
	if err := e.sim.ApproveSignIn(dc.UserCode, u); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Duration(dc.Interval) * time.Second)
	resp, b := e.pollDeviceCode(t, dc.DeviceCode)
	wantStatus(t, resp, b, http.StatusOK)
	return decode[delegatedTokens](t, b)
}

func TestDeviceCodeFlow(t *testing.T) {
	const interval = 20 * time.Millisecond // sent as 1 s
	e := newClockEnv(t, graphsim.Config{DeviceCodeInterval: interval})
	dc := e.startSignIn(t)
	if dc.DeviceCode == "" || len(dc.UserCode) < 8 || dc.Interval != 1 || dc.ExpiresIn != 900 ||
		!strings.HasSuffix(dc.VerificationURI, "/devicelogin") || !strings.Contains(dc.Message, dc.UserCode) {
		t.Fatalf("devicecode answer = %+v", dc)
	}
	if strings.Contains(dc.Message, dc.DeviceCode) {
		t.Error("message shows the device code")
	}

	// Sooner than the interval after the code was issued or after the
	// previous poll: slow_down; at the interval: pending.
	resp, b := e.pollDeviceCode(t, dc.DeviceCode)
	wantAAD(t, resp, b, 400, "slow_down", 70016)
	e.clock.Advance(interval)
	resp, b = e.pollDeviceCode(t, dc.DeviceCode)
	wantAAD(t, resp, b, 400, "authorization_pending", 70016)
	e.clock.Advance(interval - time.Nanosecond)
	resp, b = e.pollDeviceCode(t, dc.DeviceCode)
	wantAAD(t, resp, b, 400, "slow_down", 70016)
	e.clock.Advance(interval)
	resp, b = e.pollDeviceCode(t, dc.DeviceCode)
	wantAAD(t, resp, b, 400, "authorization_pending", 70016)
	p := e.sim.SignIns().Pending
	if len(p) != 1 || p[0].UserCode != dc.UserCode || p[0].Polls != 4 || p[0].SlowDowns != 2 ||
		!p[0].Expires.Equal(t0.Add(graphsim.DefaultDeviceCodeLifetime)) {
		t.Fatalf("pending = %+v", p)
	}

	if err := e.sim.ApproveSignIn(dc.UserCode, graphsim.SignInUser{UserPrincipalName: "adelev@CONTOSO.com"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(interval)
	resp, b = e.pollDeviceCode(t, dc.DeviceCode)
	wantStatus(t, resp, b, http.StatusOK)
	tok := decode[delegatedTokens](t, b)
	if tok.AccessToken == "" || !strings.HasPrefix(tok.RefreshToken, "graphsim-rt.") || tok.IDToken == "" ||
		tok.Scope != "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/user_impersonation offline_access" {
		t.Fatalf("tokens = %+v", tok)
	}
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["scp"] != "user_impersonation" || claims["upn"] != signInAdmin || claims["oid"] == "" || claims["appid"] != graphsim.DefaultClientID {
		t.Errorf("access token claims = %v", claims)
	}
	if w, _ := claims["wids"].([]any); len(w) != 2 || w[0] != graphsim.RoleTeamsAdministrator || w[1] != graphsim.RoleUserAdministrator {
		t.Errorf("wids = %v, want Teams and User Administrator", claims["wids"])
	}
	var id jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok.IDToken, &id); err != nil || id["preferred_username"] != signInAdmin {
		t.Errorf("id token = %v, %v", id, err)
	}

	// The delegated token passes the Teams back end's role check.
	resp, b = e.doWith(t, tok.AccessToken, http.MethodGet, appInstancesList, nil, nil)
	wantStatus(t, resp, b, http.StatusOK)

	// A device code is redeemed once.
	resp, b = e.pollDeviceCode(t, dc.DeviceCode)
	wantAAD(t, resp, b, 400, "bad_verification_code", 70000)
	if got := e.sim.SignIns(); len(got.Pending) != 0 || len(got.Sessions) != 1 || got.Sessions[0].UserPrincipalName != signInAdmin {
		t.Errorf("sign-ins = %+v", got)
	}
	if got := e.sim.State().TokensIssued[graphsim.TeamsAdminScope]; got != 1 {
		t.Errorf("TokensIssued[teams] = %d, want 1", got)
	}
}

// The Teams routes check the signed-in user's roles: without a Teams role
// the back end answers "Access Denied."; binding needs user management too.
func TestDelegatedTokenRoles(t *testing.T) {
	e := newClockEnv(t, graphsim.Config{})
	bind := appInstancesList + "/2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01/sync?applicationId=ce933385-9390-45d1-9512-c8d228074e07"
	tests := []struct {
		name       string
		roles      []string
		list, sync int
	}{
		{"default roles", nil, 200, 0},
		{"no role", []string{}, 403, 403},
		{"Teams Administrator only", []string{graphsim.RoleTeamsAdministrator}, 200, 403},
		{"Global Administrator", []string{graphsim.RoleGlobalAdministrator}, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := e.signIn(t, graphsim.SignInUser{UserPrincipalName: signInAdmin, Roles: tt.roles})
			resp, b := e.doWith(t, tok.AccessToken, http.MethodGet, appInstancesList, nil, nil)
			wantStatus(t, resp, b, tt.list)
			if tt.list == 403 && string(b) != "Access Denied." {
				t.Errorf("refusal body = %q", b)
			}
			if tt.sync != 0 {
				resp, b = e.doWith(t, tok.AccessToken, http.MethodPost, bind, nil, nil)
				wantStatus(t, resp, b, tt.sync)
			}
		})
	}
	// A delegated Teams token is no Graph token.
	tok := e.signIn(t, graphsim.SignInUser{UserPrincipalName: signInAdmin})
	resp, b := e.doWith(t, tok.AccessToken, http.MethodGet, "/v1.0/users", nil, nil)
	wantStatus(t, resp, b, http.StatusUnauthorized)
}

func TestRefreshTokenRotation(t *testing.T) {
	e := newClockEnv(t, graphsim.Config{})
	first := e.signIn(t, graphsim.SignInUser{UserPrincipalName: signInAdmin})

	resp, b := e.refresh(t, first.RefreshToken)
	wantStatus(t, resp, b, http.StatusOK)
	second := decode[delegatedTokens](t, b)
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatalf("refresh answer = %+v", second)
	}
	resp, b = e.doWith(t, second.AccessToken, http.MethodGet, appInstancesList, nil, nil)
	wantStatus(t, resp, b, http.StatusOK)

	// The redeemed one is dead (stricter than Entra, on purpose).
	resp, b = e.refresh(t, first.RefreshToken)
	wantAAD(t, resp, b, 400, "invalid_grant", 70000)
	resp, b = e.refresh(t, "graphsim-rt.unknown")
	wantAAD(t, resp, b, 400, "invalid_grant", 9002313)

	resp, b = e.refresh(t, second.RefreshToken)
	wantStatus(t, resp, b, http.StatusOK)
	third := decode[delegatedTokens](t, b)
	if n := e.sim.RevokeSignIns(strings.ToLower(signInAdmin)); n != 1 {
		t.Errorf("RevokeSignIns = %d, want 1", n)
	}
	resp, b = e.refresh(t, third.RefreshToken)
	wantAAD(t, resp, b, 400, "invalid_grant", 50173)
	if s := e.sim.SignIns().Sessions; len(s) != 1 || !s[0].Revoked || s[0].Redemptions != 2 {
		t.Errorf("sessions = %+v", s)
	}
	for _, secret := range []string{first.RefreshToken, second.RefreshToken, third.RefreshToken} {
		if strings.Contains(string(b), secret) {
			t.Error("error answer echoes a refresh token")
		}
	}
}

func TestRefreshTokenExpiry(t *testing.T) {
	// The default lifetime, 90 days, on the clock: a refresh token is
	// good until 1 ns before it, and the one it rotates to for another
	// lifetime from then.
	const lifetime = graphsim.DefaultRefreshTokenLifetime
	e := newClockEnv(t, graphsim.Config{})
	first := e.signIn(t, graphsim.SignInUser{UserPrincipalName: signInAdmin})
	e.clock.Advance(lifetime - time.Nanosecond)
	resp, b := e.refresh(t, first.RefreshToken)
	wantStatus(t, resp, b, http.StatusOK)
	second := decode[delegatedTokens](t, b)
	e.clock.Advance(lifetime - time.Nanosecond)
	resp, b = e.refresh(t, second.RefreshToken)
	wantStatus(t, resp, b, http.StatusOK)
	third := decode[delegatedTokens](t, b)
	e.clock.Advance(lifetime)
	resp, b = e.refresh(t, third.RefreshToken)
	wantAAD(t, resp, b, 400, "invalid_grant", 700082)
}

func TestDeviceCodeEndings(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		const lifetime = graphsim.DefaultDeviceCodeLifetime
		e := newClockEnv(t, graphsim.Config{})
		dc := e.startSignIn(t)
		e.clock.Advance(lifetime - time.Nanosecond)
		if p := e.sim.SignIns().Pending; len(p) != 1 {
			t.Fatalf("pending 1 ns before expiry = %+v", p)
		}
		e.clock.Advance(time.Nanosecond)
		if p := e.sim.SignIns().Pending; len(p) != 0 {
			t.Errorf("pending at expiry = %+v", p)
		}
		if err := e.sim.ApproveSignIn(dc.UserCode, graphsim.SignInUser{UserPrincipalName: signInAdmin}); err == nil {
			t.Error("an expired code was approved")
		}
		resp, b := e.pollDeviceCode(t, dc.DeviceCode)
		wantAAD(t, resp, b, 400, "expired_token", 70019)
	})
	t.Run("declined", func(t *testing.T) {
		e := newClockEnv(t, graphsim.Config{})
		dc := e.startSignIn(t)
		if err := e.sim.DenySignIn(dc.UserCode); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(graphsim.DefaultDeviceCodeInterval)
		resp, b := e.pollDeviceCode(t, dc.DeviceCode)
		wantAAD(t, resp, b, 400, "authorization_declined", 70000)
	})
	t.Run("unknown or disabled user", func(t *testing.T) {
		e := newEnv(t, graphsim.Config{})
		dc := e.startSignIn(t)
		if err := e.sim.ApproveSignIn(dc.UserCode, graphsim.SignInUser{UserPrincipalName: "nobody@contoso.com"}); err == nil {
			t.Error("unknown user approved")
		}
		// Seeded resource accounts are blocked from signing in.
		var blocked string
		for _, u := range e.sim.State().Users {
			if !u.AccountEnabled {
				blocked = u.UserPrincipalName
				break
			}
		}
		if err := e.sim.ApproveSignIn(dc.UserCode, graphsim.SignInUser{UserPrincipalName: blocked}); err == nil || !strings.Contains(err.Error(), "blocked") {
			t.Errorf("disabled user %q: %v", blocked, err)
		}
	})
}

func TestDeviceCodeRequestErrors(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	tests := []struct {
		name     string
		endpoint string
		form     url.Values
		code     string
		aadsts   int
	}{
		{"unknown client", "devicecode", url.Values{"client_id": {"22222222-2222-2222-2222-222222222222"}, "scope": {delegatedScope}}, "unauthorized_client", 700016},
		{"no scope", "devicecode", url.Values{"client_id": {graphsim.DefaultClientID}}, "invalid_request", 900144},
		{"graph scope", "devicecode", url.Values{"client_id": {graphsim.DefaultClientID}, "scope": {graphsim.GraphScope + " offline_access"}}, "invalid_scope", 70011},
		{"unknown device code", "token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {graphsim.DefaultClientID}, "device_code": {"x"}}, "bad_verification_code", 70000},
		{"no device code", "token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {graphsim.DefaultClientID}}, "invalid_request", 900144},
		{"no refresh token", "token", url.Values{"grant_type": {"refresh_token"}, "client_id": {graphsim.DefaultClientID}}, "invalid_request", 900144},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.post(t, tt.endpoint, tt.form)
			wantAAD(t, resp, b, http.StatusBadRequest, tt.code, tt.aadsts)
		})
	}
}

func TestSignInAdminAPI(t *testing.T) {
	e := newClockEnv(t, graphsim.Config{})
	dc := e.startSignIn(t)
	resp, b := e.doWith(t, "", http.MethodGet, "/_sim/signins", nil, nil)
	wantStatus(t, resp, b, http.StatusOK)
	if !strings.Contains(string(b), dc.UserCode) || strings.Contains(string(b), dc.DeviceCode) {
		t.Errorf("GET /_sim/signins = %s", b)
	}
	resp, b = e.doWith(t, "", http.MethodPost, "/_sim/signins/approve", map[string]any{"userCode": "NOPE", "userPrincipalName": signInAdmin}, nil)
	wantStatus(t, resp, b, http.StatusBadRequest)
	resp, b = e.doWith(t, "", http.MethodPost, "/_sim/signins/approve",
		map[string]any{"userCode": strings.ToLower(dc.UserCode), "userPrincipalName": signInAdmin, "roles": []string{graphsim.RoleTeamsAdministrator}}, nil)
	wantStatus(t, resp, b, http.StatusNoContent)
	e.clock.Advance(graphsim.DefaultDeviceCodeInterval)
	resp, b = e.pollDeviceCode(t, dc.DeviceCode)
	wantStatus(t, resp, b, http.StatusOK)
	resp, b = e.doWith(t, "", http.MethodPost, "/_sim/signins/revoke", map[string]any{"userPrincipalName": signInAdmin}, nil)
	wantStatus(t, resp, b, http.StatusOK)
	if got := decode[map[string]int](t, b); got["revoked"] != 1 {
		t.Errorf("revoke = %s", b)
	}
}
