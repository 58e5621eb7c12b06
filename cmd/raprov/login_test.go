package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/teamsadmin"
	"github.com/raprov/raprov/shared/teamsauth"
)

const loginAdmin = "AdeleV@contoso.com"

// loginSim is a running simulator for the sign-in tests: the app holds its
// Graph permissions but no directory role, so that every Teams admin call
// that succeeds was made with the signed-in admin's token.
type loginSim struct {
	run       *graphsim.Running
	ca        string
	dir       string
	tokenFile string
}

func startLoginSim(t *testing.T) *loginSim {
	t.Helper()
	grants := graphsim.Grants{Permissions: graphsim.LeastPrivilege().Permissions}
	run, err := graphsim.Start(context.Background(), graphsim.Config{
		Grants:             &grants,
		DeviceCodeInterval: 20 * time.Millisecond,
		Knobs:              graphsim.Knobs{OperationStepDelay: 50 * time.Millisecond},
		RandSeed:           1,
	}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, run.CACertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ls := &loginSim{run: run, ca: ca, dir: dir, tokenFile: filepath.Join(dir, "state", "teams-admin.token")}
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "")
	t.Setenv("RAPROV_GRAPH_URL", "")
	t.Setenv("RAPROV_CLOUD", "")
	t.Setenv("RAPROV_TEAMS_ADMIN_AUTH", "delegated")
	t.Setenv("RAPROV_TEAMS_ADMIN_TOKEN_FILE", ls.tokenFile)
	t.Setenv("RAPROV_TEAMS_ADMIN_CLIENT_ID", "")
	old := loginTimeScale
	loginTimeScale = 0.05 // the simulator's 1 s interval becomes 50 ms
	t.Cleanup(func() { loginTimeScale = old })
	return ls
}

// syncBuffer is a buffer written by one goroutine and read by another.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// login runs `raprov login` against the simulator; approve decides on the
// pending code once the command has polled it at least twice.
func (ls *loginSim) login(t *testing.T, approve func(userCode string)) (string, error) {
	t.Helper()
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		root := newRoot()
		root.SetArgs([]string{"login", "--graph-url", ls.run.URL, "--graph-ca", ls.ca})
		root.SetOut(out)
		root.SetErr(out)
		done <- root.ExecuteContext(ctx)
	}()
	var code string
	for code == "" {
		select {
		case err := <-done:
			return out.String(), err
		case <-time.After(5 * time.Millisecond):
		}
		for _, p := range ls.run.Server.SignIns().Pending {
			if p.Polls >= 2 {
				code = p.UserCode
			}
		}
	}
	approve(code)
	err := <-done
	return out.String(), err
}

func (ls *loginSim) approveAdmin(t *testing.T) func(string) {
	return func(code string) {
		// Still pending: nothing is stored yet.
		if _, err := os.Stat(ls.tokenFile); !os.IsNotExist(err) {
			t.Errorf("token file exists before the sign-in was approved: %v", err)
		}
		if err := ls.run.Server.ApproveSignIn(code, graphsim.SignInUser{UserPrincipalName: loginAdmin}); err != nil {
			t.Error(err)
		}
	}
}

// provision runs `raprov run` on requests against the simulator.
func (ls *loginSim) provision(t *testing.T, requests string) (string, string, error) {
	t.Helper()
	file := filepath.Join(ls.dir, "requests.csv")
	if err := os.WriteFile(file, []byte(requests), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := loadSettings()
	if err != nil {
		t.Fatal(err)
	}
	s.DB, s.LogFile, s.LogLevel = filepath.Join(ls.dir, "raprov.db"), filepath.Join(ls.dir, "raprov.log"), "debug"
	s.GraphURL, s.GraphCA = ls.run.URL, ls.ca
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = runChain(ctx, s, runFlags{progress: "lines", timeout: 40 * time.Second, demoTiming: true}, []string{file}, &out)
	logs, _ := os.ReadFile(s.LogFile)
	return out.String(), string(logs), err
}

// noSecrets fails when text holds a simulator refresh token, device code
// or any JWT (access and ID tokens).
func noSecrets(t *testing.T, what, text string, also ...string) {
	t.Helper()
	for _, marker := range append([]string{"graphsim-rt.", "graphsim-dc.", "eyJ"}, also...) {
		if marker != "" && strings.Contains(text, marker) {
			t.Errorf("%s contains a secret (%.16q…)", what, marker)
		}
	}
}

const loginRequests = "RequestId,UserPrincipalName,DisplayName,ApplicationType,UsageLocation,PhoneNumber,AssociateWith\n" +
	"DL-1,ra-delegated-main@contoso.com,Delegated Main,AutoAttendant,US,+12065550143,8b2e6d17-45c3-4f0a-a9d8-1e7c3b5f9d22\n" +
	"DL-2,ra-delegated-queue@contoso.com,Delegated Queue,CQ,US,,\n"

// raprov login against the simulator, end to end: the code stays pending
// until approved, the refresh token lands in a 0600 file, and a
// provisioning run makes its Teams admin calls as the signed-in admin,
// saving the rotated refresh token. No token appears in any output or log.
func TestLoginDelegatedEndToEnd(t *testing.T) {
	ls := startLoginSim(t)
	out, err := ls.login(t, ls.approveAdmin(t))
	if err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	for _, want := range []string{"To sign in, open " + ls.run.URL + "/devicelogin and enter the code ", "signed in as " + loginAdmin, ls.tokenFile} {
		if !strings.Contains(out, want) {
			t.Errorf("login output lacks %q:\n%s", want, out)
		}
	}
	fi, err := os.Stat(ls.tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v", fi, err)
	}
	signedIn, err := teamsauth.FileStore{Path: ls.tokenFile}.Load(context.Background())
	if err != nil || signedIn.Account != loginAdmin {
		t.Fatalf("stored sign-in = %+v, %v", signedIn, err)
	}
	noSecrets(t, "login output", out)

	runOut, logs, err := ls.provision(t, loginRequests)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, runOut, logs)
	}
	st := ls.run.Server.State()
	bound := map[string]string{}
	for _, ai := range st.Teams.ApplicationInstances {
		bound[strings.ToLower(ai.UserPrincipalName)] = ai.ApplicationID
	}
	if bound["ra-delegated-main@contoso.com"] != "ce933385-9390-45d1-9512-c8d228074e07" ||
		bound["ra-delegated-queue@contoso.com"] != "11cd3e2e-fccb-42ad-ad00-878b93575e07" {
		t.Errorf("application instances = %v", bound)
	}
	var teamsCalls int
	for _, r := range ls.run.Server.Requests() {
		if strings.HasPrefix(strings.ToLower(r.Path), "/teams.") {
			teamsCalls++
			if r.Status == http.StatusForbidden || r.Status == http.StatusUnauthorized {
				t.Errorf("Teams admin call refused: %s %s → %d", r.Method, r.Path, r.Status)
			}
		}
	}
	if teamsCalls == 0 {
		t.Error("the run made no Teams admin call")
	}
	sessions := ls.run.Server.SignIns().Sessions
	if len(sessions) != 1 || sessions[0].Redemptions == 0 {
		t.Errorf("sessions = %+v, want the login's, redeemed", sessions)
	}
	rotated, err := teamsauth.FileStore{Path: ls.tokenFile}.Load(context.Background())
	if err != nil || rotated.RefreshToken.Reveal() == signedIn.RefreshToken.Reveal() {
		t.Errorf("the rotated refresh token was not saved (%v)", err)
	}
	noSecrets(t, "run output", runOut, signedIn.RefreshToken.Reveal(), rotated.RefreshToken.Reveal())
	noSecrets(t, "logs", logs, signedIn.RefreshToken.Reveal(), rotated.RefreshToken.Reveal())
	if !strings.Contains(logs, "teams admin") {
		t.Errorf("the debug log shows no Teams admin call:\n%.2000s", logs)
	}
}

// A revoked sign-in stops raprov at start with the advice to sign in
// again; so does a token file others may read.
func TestLoginRevokedOrExposed(t *testing.T) {
	ls := startLoginSim(t)
	if out, err := ls.login(t, ls.approveAdmin(t)); err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	stored, _ := teamsauth.FileStore{Path: ls.tokenFile}.Load(context.Background())

	if err := os.Chmod(ls.tokenFile, 0o640); err != nil {
		t.Fatal(err)
	}
	_, logs, err := ls.provision(t, loginRequests)
	if err == nil || !strings.Contains(err.Error(), "accessible by group or others") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable token file: %v", err)
	}
	noSecrets(t, "error", err.Error(), stored.RefreshToken.Reveal())
	noSecrets(t, "logs", logs, stored.RefreshToken.Reveal())
	if err := os.Chmod(ls.tokenFile, 0o600); err != nil {
		t.Fatal(err)
	}

	if n := ls.run.Server.RevokeSignIns(loginAdmin); n != 1 {
		t.Fatalf("revoked %d sessions", n)
	}
	runOut, logs, err := ls.provision(t, loginRequests)
	if err == nil {
		t.Fatalf("run with a revoked sign-in succeeded:\n%s", runOut)
	}
	msg := err.Error()
	for _, want := range []string{`run "raprov login" again`, "revoked", loginAdmin, "invalid_grant"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if !strings.Contains(logs, "raprov login") {
		t.Errorf("the log does not tell the operator to sign in again:\n%s", logs)
	}
	noSecrets(t, "error", msg, stored.RefreshToken.Reveal())
	noSecrets(t, "logs", logs, stored.RefreshToken.Reveal())
	if users := len(ls.run.Server.State().Users); users != len(graphsim.DefaultSeed().Users) {
		t.Errorf("the refused run created users (%d, seed %d)", users, len(graphsim.DefaultSeed().Users))
	}

	// A declined sign-in stores nothing.
	if err := os.Remove(ls.tokenFile); err != nil {
		t.Fatal(err)
	}
	out, err := ls.login(t, func(code string) {
		if err := ls.run.Server.DenySignIn(code); err != nil {
			t.Error(err)
		}
	})
	if err == nil || !strings.Contains(err.Error(), "declined") {
		t.Errorf("declined login: %v\n%s", err, out)
	}
	if _, err := os.Stat(ls.tokenFile); !os.IsNotExist(err) {
		t.Errorf("a declined login left a token file: %v", err)
	}
}

func TestLoginNeedsATenant(t *testing.T) {
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "")
	t.Setenv("RAPROV_GRAPH_URL", "")
	root := newRoot()
	root.SetArgs([]string{"login"})
	var out bytes.Buffer
	root.SetOut(&out)
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "RAPROV_GRAPH_TENANT_ID") || !strings.Contains(err.Error(), "--graph-url") {
		t.Errorf("login without a tenant: %v", err)
	}
}

// microsoftEnv configures a tenant without reaching it.
func microsoftEnv(t *testing.T, cloudName, auth string) {
	t.Helper()
	t.Setenv("RAPROV_GRAPH_URL", "")
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "00000000-0000-0000-0000-0000000000ab")
	t.Setenv("RAPROV_GRAPH_CLIENT_ID", "00000000-0000-0000-0000-0000000000cd")
	t.Setenv("RAPROV_GRAPH_CLIENT_SECRET", "not-a-real-secret")
	t.Setenv("RAPROV_CLOUD", cloudName)
	t.Setenv("RAPROV_TEAMS_ADMIN_AUTH", auth)
	t.Setenv("RAPROV_TEAMS_ADMIN_TOKEN_FILE", filepath.Join(t.TempDir(), "none.token"))
	for _, k := range []string{"RAPROV_GRAPH_BASE_URL", "RAPROV_GRAPH_AUTHORITY_HOST", "RAPROV_GRAPH_SCOPE", "RAPROV_TEAMS_ADMIN_BASE_URL", "RAPROV_TEAMS_ADMIN_SCOPE", "RAPROV_TEAMS_ADMIN_CLIENT_ID"} {
		t.Setenv(k, "")
	}
}

// RAPROV_CLOUD sets Graph's and the Teams back end's endpoints together.
func TestCloudEndpoints(t *testing.T) {
	tests := []struct {
		cloud, authority, graphURL, graphScope, teamsURL string
	}{
		{"", "https://login.microsoftonline.com/", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default", "https://api.interfaces.records.teams.microsoft.com"},
		{"gcc", "https://login.microsoftonline.com/", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default", "https://api.interfaces.records.teams.microsoft.com"},
		{"gcchigh", "https://login.microsoftonline.us/", "https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default", "https://api.interfaces.records.gov.teams.microsoft.us"},
		{"dod", "https://login.microsoftonline.us/", "https://dod-graph.microsoft.us/v1.0", "https://dod-graph.microsoft.us/.default", "https://api.interfaces.records.dod.teams.microsoft.us"},
	}
	for _, tt := range tests {
		t.Run(tt.cloud, func(t *testing.T) {
			microsoftEnv(t, tt.cloud, "delegated")
			gc, tc, err := microsoftConfig()
			if err != nil {
				t.Fatal(err)
			}
			if gc.AuthorityHost != tt.authority || gc.BaseURL != tt.graphURL || gc.Scope != tt.graphScope ||
				tc.BaseURL != tt.teamsURL || tc.Scope != teamsadmin.DefaultScope || !tc.Delegated() {
				t.Errorf("endpoints = %s %s %s %s %s", gc.AuthorityHost, gc.BaseURL, gc.Scope, tc.BaseURL, tc.Scope)
			}
			ep := signInEndpoint(gc, tc, nil)
			if ep.AuthorityHost != tt.authority || ep.ClientID != gc.ClientID || ep.Scope != teamsadmin.DefaultScope {
				t.Errorf("sign-in endpoint = %+v", ep)
			}
		})
	}
	t.Run("explicit settings win", func(t *testing.T) {
		microsoftEnv(t, "dod", "delegated")
		t.Setenv("RAPROV_GRAPH_BASE_URL", "https://graph.example/v1.0")
		t.Setenv("RAPROV_TEAMS_ADMIN_BASE_URL", "https://teams.example")
		t.Setenv("RAPROV_TEAMS_ADMIN_CLIENT_ID", "public-client")
		gc, tc, err := microsoftConfig()
		if err != nil {
			t.Fatal(err)
		}
		if gc.BaseURL != "https://graph.example/v1.0" || gc.AuthorityHost != "https://login.microsoftonline.us/" || tc.BaseURL != "https://teams.example" {
			t.Errorf("endpoints = %s %s %s", gc.BaseURL, gc.AuthorityHost, tc.BaseURL)
		}
		if ep := signInEndpoint(gc, tc, nil); ep.ClientID != "public-client" {
			t.Errorf("sign-in client = %q", ep.ClientID)
		}
	})
}

// GCC High and DoD refuse the Teams side with app credentials, with a
// message naming the delegated sign-in; delegated without a sign-in is
// refused too, before any call.
func TestCloudGovernmentNeedsDelegatedSignIn(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, c := range []string{"gcchigh", "dod"} {
		t.Run(c, func(t *testing.T) {
			microsoftEnv(t, c, "")
			m, err := connectConfigured(settings{}, log)
			if err == nil {
				m.Close()
				t.Fatal("app credentials accepted")
			}
			for _, want := range []string{"RAPROV_CLOUD=" + c, "app-only", "RAPROV_TEAMS_ADMIN_AUTH=delegated", "raprov login"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			microsoftEnv(t, c, "delegated")
			m, err = connectConfigured(settings{}, log)
			if err == nil {
				m.Close()
				t.Fatal("delegated without a sign-in accepted")
			}
			if !strings.Contains(err.Error(), `run "raprov login"`) {
				t.Errorf("error %q does not ask for raprov login", err)
			}
		})
	}
}
