package graphsim_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

func TestAdminAPI(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	admin := func(method, path string, body any) (*http.Response, []byte) {
		return e.doWith(t, "", method, path, body, nil)
	}

	resp, b := admin(http.MethodPut, "/_sim/knobs", `{"replicationDelay":"1.5s","throttle":true}`)
	wantStatus(t, resp, b, http.StatusOK)
	e.sim.SetKnobs(graphsim.Knobs{ReplicationDelay: e.sim.Knobs().ReplicationDelay, TimeScale: 0.5, FaultStatus: 504})
	resp, b = admin(http.MethodPut, "/_sim/knobs", `{"throttle":true}`)
	wantStatus(t, resp, b, http.StatusOK)
	k := e.sim.Knobs()
	if k.ReplicationDelay != 1500*time.Millisecond || !k.Throttle || k.TimeScale != 0.5 || k.FaultStatus != 504 {
		t.Errorf("knobs after partial PUT = %+v", k)
	}
	resp, b = admin(http.MethodGet, "/_sim/knobs", nil)
	wantStatus(t, resp, b, http.StatusOK)
	if got := decode[map[string]any](t, b); got["replicationDelay"] != "1.5s" || got["timeScale"] != 0.5 {
		t.Errorf("GET knobs = %v", got)
	}
	for _, bad := range []string{`{"faultRate":2}`, `{"slowDelay":"soon"}`, `not json`} {
		resp, b = admin(http.MethodPut, "/_sim/knobs", bad)
		wantStatus(t, resp, b, http.StatusBadRequest)
	}
	e.sim.SetKnobs(graphsim.Knobs{})

	resp, b = admin(http.MethodPost, "/_sim/licenses", map[string]any{"skuPartNumber": graphsim.VirtualUserSkuPartNumber, "units": 5})
	wantStatus(t, resp, b, http.StatusOK)
	if got := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber).PrepaidUnits.Enabled; got != 55 {
		t.Errorf("enabled = %d, want 55", got)
	}
	resp, b = admin(http.MethodPost, "/_sim/licenses", map[string]any{"skuPartNumber": "NOPE", "units": 5})
	wantStatus(t, resp, b, http.StatusBadRequest)

	resp, b = admin(http.MethodPost, "/_sim/faults", map[string]any{"method": "GET", "pathPrefix": "/v1.0/subscribedSkus", "status": 429, "retryAfter": "3s"})
	wantStatus(t, resp, b, http.StatusNoContent)
	resp, b = e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantError(t, resp, b, http.StatusTooManyRequests, "TooManyRequests", "")
	if resp.Header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
	}
	resp, b = e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantStatus(t, resp, b, http.StatusOK)

	resp, b = admin(http.MethodGet, "/_sim/requests", nil)
	wantStatus(t, resp, b, http.StatusOK)
	reqs := decode[struct {
		Counts   map[string]graphsim.EndpointCount `json:"counts"`
		Requests []graphsim.RequestRecord          `json:"requests"`
	}](t, b)
	if c := reqs.Counts["GET /v1.0/subscribedSkus"]; c.Total < 3 || c.ByStatus[429] != 1 || c.Reads != c.Total {
		t.Errorf("counts = %+v", c)
	}
	if c := reqs.Counts["POST /{tenant}/oauth2/v2.0/token"]; c.Total != 1 {
		t.Errorf("token counts = %+v", c)
	}
	if len(reqs.Requests) == 0 || reqs.Requests[0].Route != "POST /{tenant}/oauth2/v2.0/token" || reqs.Requests[0].Scope != graphsim.GraphScope {
		t.Errorf("first request = %+v", reqs.Requests[0])
	}
	for _, r := range reqs.Requests {
		if strings.HasPrefix(r.Path, "/_sim/") {
			t.Errorf("admin request logged: %+v", r)
		}
	}
	resp, b = admin(http.MethodDelete, "/_sim/requests", nil)
	wantStatus(t, resp, b, http.StatusNoContent)
	if len(e.sim.Requests()) != 0 || len(e.sim.Counts()) != 0 {
		t.Error("log not reset")
	}

	resp, b = admin(http.MethodGet, "/_sim/state", nil)
	wantStatus(t, resp, b, http.StatusOK)
	st := decode[graphsim.State](t, b)
	if st.TenantID != graphsim.DefaultTenantID || len(st.Users) != len(graphsim.DefaultSeed().Users) || len(st.Skus) != 3 || len(st.Teams.Numbers) == 0 {
		t.Errorf("state: tenant %s, %d users, %d skus, %d numbers", st.TenantID, len(st.Users), len(st.Skus), len(st.Teams.Numbers))
	}
	if strings.Contains(string(b), "password") {
		t.Error("state mentions a password")
	}
}

func TestStateIsDeepCopy(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	st := e.sim.State()
	st.Users[0].AssignedLicenses[0].SkuID = "changed"
	st.Users[0].AssignedLicenses[0].DisabledPlans = append(st.Users[0].AssignedLicenses[0].DisabledPlans, "x")
	st.Users[1].DisplayName = "changed"
	st.Skus[0].ServicePlans[0].ServicePlanName = "changed"
	st.Skus[0].ConsumedUnits = 99
	st.Teams.Numbers[0].Capabilities[0] = "changed"
	st.TokensIssued["x"] = 1
	again := e.sim.State()
	if again.Users[0].AssignedLicenses[0].SkuID == "changed" || len(again.Users[0].AssignedLicenses[0].DisabledPlans) != 0 ||
		again.Users[1].DisplayName == "changed" || again.Skus[0].ServicePlans[0].ServicePlanName == "changed" ||
		again.Skus[0].ConsumedUnits == 99 || again.Teams.Numbers[0].Capabilities[0] == "changed" || again.TokensIssued["x"] != 0 {
		t.Error("changing a State changed the simulator")
	}
}

func TestLoadSeed(t *testing.T) {
	seed, err := graphsim.LoadSeed("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, graphsim.Config{Seed: seed})
	st := e.sim.State()
	if len(st.VerifiedDomains) != 2 || len(st.Users) != 2 || len(st.Skus) != 2 || len(st.Teams.Numbers) != 1 || len(st.Teams.ApplicationInstances) != 1 {
		t.Fatalf("state from seed = %+v", st)
	}
	if s := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber); s.ConsumedUnits != 1 || s.PrepaidUnits.Enabled != 2 {
		t.Errorf("virtual user sku = %+v", s)
	}
	if s := skuByPart(t, e, "ENTERPRISEPACK"); s.CapabilityStatus != "Suspended" || s.PrepaidUnits.Suspended != 10 || s.ConsumedUnits != 3 {
		t.Errorf("enterprise sku = %+v", s)
	}
	if got := st.Users[1].CreatedDateTime; !got.Equal(time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("createdDateTime = %v", got)
	}
	resp, b := e.do(t, http.MethodPost, "/v1.0/users", newUser("contoso-user"))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "domain portion")

	dir := t.TempDir()
	for name, content := range map[string]string{
		"unknown field": `{"verifiedDomains":["a.com"],"colour":"blue"}`,
		"bad license":   `{"verifiedDomains":["a.com"],"users":[{"userPrincipalName":"x@a.com","displayName":"X","licenses":["NOPE"]}]}`,
		"no domains":    `{"skus":[]}`,
		"not json":      `{`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := graphsim.LoadSeed(path); err == nil {
			t.Errorf("%s: LoadSeed = nil error", name)
		}
	}
	if _, err := graphsim.LoadSeed(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: nil error")
	}
}

func TestTeamsMounted(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	resp, b := e.do(t, http.MethodGet, "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments?$top=5", nil)
	wantStatus(t, resp, b, http.StatusOK)
	teams := e.token(t, graphsim.TeamsAdminScope)
	resp, b = e.doWith(t, teams, http.MethodGet, "/Teams.PlatformService/v2/ApplicationInstances", nil, nil)
	wantStatus(t, resp, b, http.StatusOK)
	if !strings.Contains(string(b), teamssim.SeedReceptionAccountID) {
		t.Errorf("application instances = %s", b)
	}
	var teamsService bool
	for _, r := range e.sim.Requests() {
		teamsService = teamsService || (r.Service == "teams" && r.Status == 200)
	}
	if !teamsService {
		t.Error("no request recorded against the Teams service")
	}
}

func TestStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := graphsim.Start(ctx, graphsim.Config{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if !strings.HasPrefix(run.URL, "https://127.0.0.1:") || !strings.Contains(string(run.CACertPEM), "BEGIN CERTIFICATE") {
		t.Fatalf("Running = %s %q", run.URL, run.CACertPEM)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: run.CertPool}}}
	resp, err := client.Get(run.URL + "/" + graphsim.DefaultTenantID + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d", resp.StatusCode)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := run.Client().Get(run.URL + "/_sim/knobs"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still answering after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMain_CLI(t *testing.T) {
	dir := t.TempDir()
	caPath := filepath.Join(dir, "ca.pem")
	cert, _ := testCert(t)
	certPath := filepath.Join(dir, "client.pem")
	if err := os.WriteFile(certPath, pemCert(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GRAPHSIM_REPLICATION_DELAY", "2s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := graphsim.Main(ctx, []string{"-addr", "127.0.0.1:0", "-ca-out", caPath, "-throttle", "-time-scale", "0.01",
			"-seed", "testdata/seed.json", "-client-cert", certPath, "-log-level", "warn"}, w)
		w.Close()
		done <- err
	}()
	var url string
	sc := bufio.NewScanner(out)
	var printed []string
	for sc.Scan() {
		line := sc.Text()
		printed = append(printed, line)
		if u, ok := strings.CutPrefix(line, "graphsim listening on "); ok {
			url = u
		}
		if strings.Contains(line, "Admin API") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	text := strings.Join(printed, "\n")
	for _, want := range []string{graphsim.DefaultTenantID, graphsim.DefaultClientID, "public test secret", caPath} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	pem, err := os.ReadFile(caPath)
	if err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Fatalf("CA file: %v", err)
	}
	pool := tlsPool(t, pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(url + "/_sim/knobs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	k := decode[map[string]any](t, b)
	if k["replicationDelay"] != "2s" || k["throttle"] != true || k["timeScale"] != 0.01 {
		t.Errorf("knobs from flags and environment = %v", k)
	}
	resp, err = client.Get(url + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	st := decode[graphsim.State](t, mustRead(t, resp))
	if len(st.VerifiedDomains) == 0 || st.VerifiedDomains[0] != "fabrikam.com" {
		t.Errorf("seed not loaded: %v", st.VerifiedDomains)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Main = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Main did not return after cancel")
	}

	if err := graphsim.Main(context.Background(), []string{"-time-scale", "fast"}, io.Discard); err == nil {
		t.Error("bad flag: nil error")
	}
}
