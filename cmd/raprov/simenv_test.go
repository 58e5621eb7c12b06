package main

// Against a simulator (--graph-url, or in process), raprov reads
// RAPROV_GRAPH_* and RAPROV_TEAMS_ADMIN_* as against Microsoft; the
// simulator only fills in its endpoints and the credentials that are not
// configured (issue 8, item 8).

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/graph/budget"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/teamsadmin"
)

// clearAdapterEnv unsets (for the test) every variable of the adapters that
// a test does not set itself, so the developer's environment cannot leak in.
func clearAdapterEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, graph.EnvPrefix+"_") || strings.HasPrefix(k, teamsadmin.EnvPrefix+"_") || k == "RAPROV_CLOUD" {
			t.Setenv(k, "")
			os.Unsetenv(k) // t.Setenv restores it afterwards
		}
	}
}

func setenv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// seen is one request the proxy passed on (or answered itself).
type seen struct {
	method, path string
	query        url.Values
	retryAttempt string // kiota's Retry-Attempt header: an in-process retry
}

// simProxy stands between raprov and a simulator with a certificate of its
// own: it records every request and answers the first GET subscribedSkus
// with a 503 itself.
type simProxy struct {
	*httptest.Server
	ca string // PEM file of its certificate

	mu      sync.Mutex
	seen    []seen
	faulted bool
}

func newSimProxy(t *testing.T, sim *graphsim.Running) *simProxy {
	t.Helper()
	target, err := url.Parse(sim.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The director keeps the Host header: the simulator's metadata names
	// the proxy, which is all raprov may reach.
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = sim.Client().Transport
	p := &simProxy{}
	p.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, seen{method: r.Method, path: r.URL.Path, query: r.URL.Query(), retryAttempt: r.Header.Get("Retry-Attempt")})
		fault := r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/subscribedSkus") && !p.faulted
		if fault {
			p.faulted = true
		}
		p.mu.Unlock()
		if fault {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"serviceNotAvailable","message":"injected by the test"}}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	p.ca = filepath.Join(t.TempDir(), "proxy.pem")
	if err := os.WriteFile(p.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *simProxy) requests() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.seen...)
}

// graphURLRun readies `raprov run --graph-url URL --graph-ca CA --demo-timing`
// of one request.
func graphURLRun(t *testing.T, url, ca, row string) *fileRun {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "requests.csv")
	if err := os.WriteFile(file, []byte(runHeader+row+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := loadSettings()
	if err != nil {
		t.Fatal(err)
	}
	s.DB, s.LogFile, s.GraphURL, s.GraphCA = filepath.Join(dir, "raprov.db"), filepath.Join(dir, "raprov.log"), url, ca
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := os.ReadFile(s.LogFile)
			t.Logf("raprov logs:\n%s", logs)
		}
	})
	return &fileRun{dir: dir, file: file, s: s, f: runFlags{progress: "lines", timeout: time.Minute, seedUnits: -1, demoTiming: true}}
}

// TestRunGraphURLHonoursSettings: `run --graph-url` against a simulator with
// credentials of its own, configured only through RAPROV_GRAPH_*, and with
// Graph and Teams admin tuning that shows in what reaches the simulator.
func TestRunGraphURLHonoursSettings(t *testing.T) {
	clearAdapterEnv(t)
	tenant, client, secret := uuid.NewString(), uuid.NewString(), "custom-secret-"+uuid.NewString()
	sim, _ := startSim(t, graphsim.Config{TenantID: tenant, ClientID: client, ClientSecret: secret,
		Knobs: graphsim.Knobs{TimeScale: 1, OperationStepDelay: 50 * time.Millisecond}})
	proxy := newSimProxy(t, sim)
	setenv(t, map[string]string{
		"RAPROV_GRAPH_TENANT_ID":       tenant,
		"RAPROV_GRAPH_CLIENT_ID":       client,
		"RAPROV_GRAPH_CLIENT_SECRET":   secret,
		"RAPROV_GRAPH_TIME_SCALE":      "0.5",
		"RAPROV_GRAPH_HEADROOM":        "0.6",
		"RAPROV_GRAPH_MAX_RETRIES":     "0",
		"RAPROV_GRAPH_OWNER_ATTRIBUTE": "7",
		"RAPROV_TEAMS_ADMIN_LOOKUP":    "list",
		"RAPROV_TEAMS_ADMIN_PAGE_SIZE": "1",
		// Endpoints for Microsoft: --graph-url wins over them.
		"RAPROV_GRAPH_BASE_URL":       "https://graph.microsoft.com/v1.0",
		"RAPROV_TEAMS_ADMIN_BASE_URL": "https://api.interfaces.records.teams.microsoft.com",
	})
	rt := graphURLRun(t, proxy.URL, proxy.ca, "SIM-1,ra-simenv-1@contoso.com,Sim Env,AA,US")

	if _, err := rt.run(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if st := rt.statuses(t)["SIM-1"]; st.Outcome != ledger.Completed {
		t.Fatalf("SIM-1: %+v; want completed", st)
	}

	// RAPROV_GRAPH_OWNER_ATTRIBUTE: the mark is in extensionAttribute7.
	var user *graphsim.User
	for _, u := range sim.Server.State().Users {
		if strings.EqualFold(u.UserPrincipalName, "ra-simenv-1@contoso.com") {
			user = &u
		}
	}
	if user == nil {
		t.Fatal("the simulator holds no ra-simenv-1@contoso.com")
	}
	ext, _ := user.Other["onPremisesExtensionAttributes"].(map[string]any)
	if mark, _ := ext["extensionAttribute7"].(string); !strings.Contains(mark, "SIM-1") {
		t.Errorf("extensionAttribute7 = %q, want the ownership mark of SIM-1 (attributes: %v)", mark, ext)
	}
	if v, ok := ext["extensionAttribute15"]; ok && v != nil {
		t.Errorf("extensionAttribute15 = %v, want it untouched", v)
	}

	// The configured app got the tokens (the simulator knows no other).
	for _, rec := range sim.Server.Requests() {
		if strings.HasSuffix(rec.Path, "/oauth2/v2.0/token") && (rec.Status != http.StatusOK || rec.ClientID != client || rec.Credential != "secret") {
			t.Errorf("token request %+v, want %s's secret accepted", rec, client)
		}
	}

	var skus, lists int
	for _, r := range proxy.requests() {
		switch {
		case r.method == http.MethodGet && strings.HasSuffix(r.path, "/subscribedSkus"):
			// RAPROV_GRAPH_MAX_RETRIES=0: the injected 503 is retried by
			// the step, never in process.
			skus++
			if r.retryAttempt != "" {
				t.Errorf("GET subscribedSkus with Retry-Attempt %s: retried in process despite RAPROV_GRAPH_MAX_RETRIES=0", r.retryAttempt)
			}
		case r.method == http.MethodGet && strings.HasSuffix(r.path, "/ApplicationInstances"):
			// RAPROV_TEAMS_ADMIN_LOOKUP and _PAGE_SIZE.
			lists++
			if got := r.query.Get("pageSize"); got != "1" {
				t.Errorf("list of application instances with pageSize %q, want 1", got)
			}
		}
	}
	if skus < 2 {
		t.Errorf("%d GET subscribedSkus, want the faulted one and a later one", skus)
	}
	if lists == 0 {
		t.Error("no list of application instances: RAPROV_TEAMS_ADMIN_LOOKUP=list ignored")
	}

	// RAPROV_GRAPH_TIME_SCALE and _HEADROOM: the tenant's budget (one per
	// tenant and process, made by the run) has them.
	l := budget.ForTenant(tenant, budget.Limits{}).Limits()
	if l.TimeScale != 0.5 || l.Headroom != 0.6 {
		t.Errorf("budget limits %+v, want time scale 0.5 and headroom 0.6", l)
	}
}

// TestRunGraphURLWrongSecret: a configured secret is sent as given; the
// simulator refuses it and every request fails with permission_denied
// naming the credentials, before anything is written.
func TestRunGraphURLWrongSecret(t *testing.T) {
	clearAdapterEnv(t)
	const wrong = "wrong-secret-5d1c"
	sim, ca := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{TimeScale: 1}})
	t.Setenv("RAPROV_GRAPH_CLIENT_SECRET", wrong)
	rt := graphURLRun(t, sim.URL, ca, "SIM-2,ra-simenv-2@contoso.com,Sim Wrong,AA,US")

	out, err := rt.run(t)
	if ec, ok := err.(exitCode); !ok || ec != 1 {
		t.Fatalf("run: %v; want exit code 1", err)
	}
	st := rt.statuses(t)["SIM-2"]
	if st.Outcome != ledger.Failed || st.Reason != "permission_denied" {
		t.Fatalf("SIM-2: %+v; want failed with permission_denied", st)
	}
	for _, want := range []string{"permission_denied", "token request failed: HTTP 401", "credential"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, wrong) {
		t.Error("the output holds the secret")
	}
	var refused bool
	for _, rec := range sim.Server.Requests() {
		refused = refused || strings.HasSuffix(rec.Path, "/oauth2/v2.0/token") && rec.Status == http.StatusUnauthorized
		if rec.Method != http.MethodGet && !strings.HasSuffix(rec.Path, "/oauth2/v2.0/token") {
			t.Errorf("%s %s sent with refused credentials", rec.Method, rec.Path)
		}
	}
	if !refused {
		t.Error("the simulator refused no token request")
	}
}

// TestDoctorGraphURLCredentials: doctor sends the configured credentials
// to a simulator too: its own secret passes, a wrong one fails (exit 3).
func TestDoctorGraphURLCredentials(t *testing.T) {
	clearAdapterEnv(t)
	run, ca := startSim(t, graphsim.Config{ClientSecret: "doctor-secret-9e2f"})

	t.Setenv("RAPROV_GRAPH_CLIENT_SECRET", "doctor-secret-9e2f")
	if r := runDoctorCmd(t, simArgs(run, ca)...); r.code != 0 || r.status(t, "tokens") != "ok" {
		t.Errorf("with the simulator's secret: exit %d, tokens %s; want 0 and ok", r.code, r.status(t, "tokens"))
	}

	t.Setenv("RAPROV_GRAPH_CLIENT_SECRET", "not-the-doctor-secret")
	if r := runDoctorCmd(t, simArgs(run, ca)...); r.code != 3 || r.status(t, "tokens") != "FAIL" {
		t.Errorf("with a wrong secret: exit %d, tokens %s; want 3 and FAIL", r.code, r.status(t, "tokens"))
	}
}

// TestSimulatorConfigFromEnv: every adapter setting is read; the simulator
// supplies the endpoints, and its credentials only where none are set.
func TestSimulatorConfigFromEnv(t *testing.T) {
	const simURL = "https://127.0.0.1:8443"
	t.Run("nothing set", func(t *testing.T) {
		clearAdapterEnv(t)
		gc, tc, _, err := simulatorConfig(settings{GraphURL: simURL + "/"})
		if err != nil {
			t.Fatal(err)
		}
		if gc.TenantID != graphsim.DefaultTenantID || gc.ClientID != graphsim.DefaultClientID || gc.ClientSecret.Reveal() != graphsim.DefaultClientSecret {
			t.Errorf("credentials %s %s, want the simulator's test credentials", gc.TenantID, gc.ClientID)
		}
		if gc.AuthorityHost != simURL+"/" || gc.BaseURL != simURL+"/v1.0" || !gc.DisableInstanceDiscovery || gc.Scope != graph.DefaultScope {
			t.Errorf("graph endpoints %s %s %v %s", gc.AuthorityHost, gc.BaseURL, gc.DisableInstanceDiscovery, gc.Scope)
		}
		if gc.MaxRetries != 2 || gc.TimeScale != 1 || gc.Headroom != 0.9 || gc.OwnerAttribute != graph.DefaultOwnerAttribute {
			t.Errorf("graph defaults lost: %+v", gc)
		}
		want := teamsadmin.DefaultConfig()
		want.BaseURL, want.Cloud = simURL, ""
		if tc != want {
			t.Errorf("teams admin config\n%+v, want\n%+v", tc, want)
		}
	})
	t.Run("everything set", func(t *testing.T) {
		clearAdapterEnv(t)
		setenv(t, map[string]string{
			"RAPROV_CLOUD":                            "gcchigh", // not a simulator's: ignored
			"RAPROV_GRAPH_TENANT_ID":                  "contoso.onmicrosoft.com",
			"RAPROV_GRAPH_CLIENT_ID":                  "app-1",
			"RAPROV_GRAPH_CERTIFICATE_PATH":           "/etc/raprov/app.pem",
			"RAPROV_GRAPH_AUTHORITY_HOST":             "https://login.example/",
			"RAPROV_GRAPH_BASE_URL":                   "https://graph.example/v1.0",
			"RAPROV_GRAPH_SCOPE":                      "https://graph.microsoft.com/.default",
			"RAPROV_GRAPH_TENANT_USERS":               "600",
			"RAPROV_GRAPH_HEADROOM":                   "0.5",
			"RAPROV_GRAPH_TIME_SCALE":                 "0.01",
			"RAPROV_GRAPH_SHARE":                      "4",
			"RAPROV_GRAPH_MAX_RETRIES":                "5",
			"RAPROV_GRAPH_MAX_WAIT":                   "3s",
			"RAPROV_GRAPH_TIMEOUT":                    "7s",
			"RAPROV_GRAPH_OWNER_ATTRIBUTE":            "3",
			"RAPROV_TEAMS_ADMIN_BASE_URL":             "https://teams.example",
			"RAPROV_TEAMS_ADMIN_SCOPE":                "api://48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default",
			"RAPROV_TEAMS_ADMIN_LIST_PATH":            "/v3/instances",
			"RAPROV_TEAMS_ADMIN_GET_PATH":             "/v3/instances/{objectId}",
			"RAPROV_TEAMS_ADMIN_BIND_PATH":            "/v3/instances/{objectId}/bind",
			"RAPROV_TEAMS_ADMIN_BIND_METHOD":          "PUT",
			"RAPROV_TEAMS_ADMIN_BIND_APP_ID_PARAM":    "appId",
			"RAPROV_TEAMS_ADMIN_ASSOCIATE_PATH":       "/v3/associations",
			"RAPROV_TEAMS_ADMIN_GET_ASSOCIATION_PATH": "/v3/associations/{objectId}",
			"RAPROV_TEAMS_ADMIN_CALL_PRIORITY":        "2",
			"RAPROV_TEAMS_ADMIN_LOOKUP":               "list",
			"RAPROV_TEAMS_ADMIN_PAGE_SIZE":            "25",
			"RAPROV_TEAMS_ADMIN_MAX_RETRIES":          "4",
			"RAPROV_TEAMS_ADMIN_MAX_RETRY_WAIT":       "2s",
			"RAPROV_TEAMS_ADMIN_TIMEOUT":              "9s",
			"RAPROV_TEAMS_ADMIN_AUTH":                 "delegated",
			"RAPROV_TEAMS_ADMIN_TOKEN_FILE":           "/var/raprov/teams.token",
			"RAPROV_TEAMS_ADMIN_CLIENT_ID":            "public-app",
		})
		gc, tc, _, err := simulatorConfig(settings{GraphURL: simURL})
		if err != nil {
			t.Fatal(err)
		}
		wantG := graph.Config{
			TenantID: "contoso.onmicrosoft.com", ClientID: "app-1", CertificatePath: "/etc/raprov/app.pem",
			AuthorityHost: simURL + "/", DisableInstanceDiscovery: true, BaseURL: simURL + "/v1.0", Scope: "https://graph.microsoft.com/.default",
			TenantUsers: 600, Headroom: 0.5, TimeScale: 0.01, Share: 4, MaxRetries: 5, MaxWait: 3 * time.Second, Timeout: 7 * time.Second,
			OwnerAttribute: 3,
		}
		if gc != wantG {
			t.Errorf("graph config\n%#v, want\n%#v", gc, wantG)
		}
		wantT := teamsadmin.Config{
			BaseURL: simURL, Scope: "api://48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default",
			ListPath: "/v3/instances", GetPath: "/v3/instances/{objectId}", BindPath: "/v3/instances/{objectId}/bind",
			BindMethod: "PUT", BindAppIDParam: "appId", AssociatePath: "/v3/associations", GetAssociationPath: "/v3/associations/{objectId}",
			CallPriority: 2, Lookup: "list", PageSize: 25, MaxRetries: 4, MaxRetryWait: 2 * time.Second, Timeout: 9 * time.Second,
			SignIn: teamsadmin.SignIn{Auth: "delegated", TokenFile: "/var/raprov/teams.token", ClientID: "public-app"},
		}
		if tc != wantT {
			t.Errorf("teams admin config\n%+v, want\n%+v", tc, wantT)
		}
	})
	t.Run("bad value", func(t *testing.T) {
		clearAdapterEnv(t)
		t.Setenv("RAPROV_TEAMS_ADMIN_PAGE_SIZE", "0")
		if _, _, _, err := simulatorConfig(settings{GraphURL: simURL}); err == nil || !strings.Contains(err.Error(), "page size") {
			t.Errorf("err = %v, want the page size refused", err)
		}
	})
}

// TestMicrosoftConfigRequiresIdentity: only a simulator may supply the
// tenant and client ids; against Microsoft they stay required.
func TestMicrosoftConfigRequiresIdentity(t *testing.T) {
	clearAdapterEnv(t)
	t.Setenv("RAPROV_GRAPH_CLIENT_ID", "app-1")
	if _, _, err := microsoftConfig(); err == nil || !strings.Contains(err.Error(), "RAPROV_GRAPH_TENANT_ID") {
		t.Errorf("without a tenant id: %v, want RAPROV_GRAPH_TENANT_ID required", err)
	}
	clearAdapterEnv(t)
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "contoso.onmicrosoft.com")
	if _, _, err := microsoftConfig(); err == nil || !strings.Contains(err.Error(), "RAPROV_GRAPH_CLIENT_ID") {
		t.Errorf("without a client id: %v, want RAPROV_GRAPH_CLIENT_ID required", err)
	}
}
