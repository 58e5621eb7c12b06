package main

// Tests of `raprov doctor` against the in-process Graph simulator: the
// command as an operator runs it (--graph-url, --graph-ca, --capture),
// checked by its output, exit code, capture file and the simulator's own
// request log.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/permissions"
)

// startSim starts a simulator for one test and writes its certificate.
func startSim(t *testing.T, cfg graphsim.Config) (*graphsim.Running, string) {
	t.Helper()
	run, err := graphsim.Start(context.Background(), cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(run.Close)
	ca := filepath.Join(t.TempDir(), "graphsim.pem")
	if err := os.WriteFile(ca, run.CACertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return run, ca
}

// doctorRun is one `raprov doctor` run.
type doctorRun struct {
	out     string
	code    int
	capture []byte
}

// runDoctorCmd runs `raprov doctor args…` with a capture file and returns
// its output, exit code and capture.
func runDoctorCmd(t *testing.T, args ...string) doctorRun {
	t.Helper()
	capture := filepath.Join(t.TempDir(), "capture.json")
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"doctor", "--capture", capture}, args...))
	err := root.ExecuteContext(context.Background())
	r := doctorRun{out: out.String() + errOut.String()}
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		r.code = int(ec)
	default:
		t.Fatalf("doctor: %v\n%s", err, r.out)
	}
	r.capture, _ = os.ReadFile(capture)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("doctor output:\n%s", r.out)
		}
	})
	return r
}

func simArgs(run *graphsim.Running, ca string) []string {
	return []string{"--graph-url", run.URL, "--graph-ca", ca}
}

// line returns the report line of a check.
func (r doctorRun) line(t *testing.T, check string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\[(?: ok |skip|warn|FAIL)\] ` + regexp.QuoteMeta(check) + `\s.*$`)
	l := re.FindString(r.out)
	if l == "" {
		t.Fatalf("no line for check %q", check)
	}
	return l
}

func (r doctorRun) status(t *testing.T, check string) string {
	return strings.Trim(r.line(t, check)[:6], "[] ")
}

// jwtShape matches any JWT; no output may carry one.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.`)

// checkSafe asserts the run's safety properties: the simulator saw only
// reads and token requests, and neither the output nor the capture holds a
// token or the client secret.
func checkSafe(t *testing.T, sim *graphsim.Server, r doctorRun) {
	t.Helper()
	reqs := sim.Requests()
	if len(reqs) == 0 {
		t.Fatal("the simulator saw no request")
	}
	for _, rec := range reqs {
		token := rec.Method == http.MethodPost && strings.HasSuffix(rec.Path, "/oauth2/v2.0/token")
		if rec.Method != http.MethodGet && !token {
			t.Errorf("doctor sent %s %s", rec.Method, rec.Path)
		}
	}
	for name, text := range map[string]string{"output": r.out, "capture": string(r.capture)} {
		if jwtShape.MatchString(text) {
			t.Errorf("the %s holds a token", name)
		}
		if strings.Contains(text, graphsim.DefaultClientSecret) {
			t.Errorf("the %s holds the client secret", name)
		}
	}
}

// captured is the part of the capture file the tests read.
type captured struct {
	ExitCode int `json:"exitCode"`
	Results  []struct {
		Check  string `json:"check"`
		Status string `json:"status"`
	} `json:"results"`
	Requests []struct {
		Method string          `json:"method"`
		URL    string          `json:"url"`
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	} `json:"requests"`
}

func TestDoctorAllOK(t *testing.T) {
	t.Parallel()
	run, ca := startSim(t, graphsim.Config{})
	r := runDoctorCmd(t, simArgs(run, ca)...)
	if r.code != 0 {
		t.Errorf("exit %d, want 0", r.code)
	}
	for _, check := range []string{"configuration", "tokens", "license", "teams admin", "numbers", "owner attribute"} {
		if got := r.status(t, check); got != "ok" {
			t.Errorf("%s: %s, want ok: %s", check, got, r.line(t, check))
		}
	}
	// Least privilege holds no permission that reads /organization.
	if got := r.status(t, "verified domains"); got != "skip" {
		t.Errorf("verified domains: %s, want skip", got)
	}
	if l := r.line(t, "teams admin"); !strings.Contains(l, "list 200, get 200") {
		t.Errorf("teams admin line %q does not report both statuses", l)
	}
	if l := r.line(t, "license"); !strings.Contains(l, graphsim.VirtualUserSkuPartNumber) {
		t.Errorf("license line %q does not name the SKU", l)
	}
	checkSafe(t, run.Server, r)

	var c captured
	if err := json.Unmarshal(r.capture, &c); err != nil {
		t.Fatalf("capture is not JSON: %v", err)
	}
	if len(c.Results) != 7 || c.ExitCode != 0 {
		t.Errorf("capture: %d results, exit %d", len(c.Results), c.ExitCode)
	}
	// Every request the simulator served is in the capture (the simulator
	// also logs the ones it refused, none here).
	if got, want := len(c.Requests), len(run.Server.Requests()); got != want {
		t.Errorf("capture holds %d requests, the simulator saw %d", got, want)
	}
	// The token requests (Graph calls ask for a CAE token of their own),
	// the identity platform's metadata, and the five API reads.
	var tokens, reads int
	for _, q := range c.Requests {
		switch {
		case q.Method == http.MethodPost && strings.HasSuffix(q.URL, "/oauth2/v2.0/token"):
			tokens++
			if !strings.Contains(string(q.Body), `"access_token": "[REDACTED]"`) {
				t.Errorf("token answer not redacted: %s", q.Body)
			}
		case q.Method == http.MethodGet && (strings.Contains(q.URL, "/v1.0/") || strings.Contains(q.URL, "/Teams.")):
			reads++
			if q.Status != http.StatusOK {
				t.Errorf("%s answered %d", q.URL, q.Status)
			}
		case q.Method != http.MethodGet:
			t.Errorf("capture: %s %s", q.Method, q.URL)
		}
	}
	if tokens < 2 || reads != 5 {
		t.Errorf("capture: %d token requests and %d API reads, want at least 2 and 5", tokens, reads)
	}
	// Names and ids of the tenant are pseudonymised.
	for _, v := range []string{"ra-reception@contoso.com", "AdeleV@contoso.com", graphsim.DefaultTenantID} {
		if bytes.Contains(r.capture, []byte(v)) {
			t.Errorf("capture names %s", v)
		}
	}
}

func TestDoctorMissingPermission(t *testing.T) {
	t.Parallel()
	tests := []struct {
		without string
		name    string // as the report names it
		checks  []string
	}{
		{permissions.UserReadWriteAll, "User.ReadWrite.All", []string{"tokens"}},
		{permissions.LicenseAssignmentReadAll, "LicenseAssignment.Read.All", []string{"tokens", "license"}},
		{permissions.RoleTeamsAdministrator, "Teams Administrator", []string{"tokens", "teams admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := graphsim.LeastPrivilege().Without(tt.without)
			run, ca := startSim(t, graphsim.Config{Grants: &g})
			r := runDoctorCmd(t, simArgs(run, ca)...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			for _, check := range tt.checks {
				if got := r.status(t, check); got != "FAIL" {
					t.Errorf("%s: %s, want FAIL", check, got)
				}
			}
			if l := r.line(t, "tokens"); !strings.Contains(l, "missing "+tt.name) {
				t.Errorf("tokens line %q does not name %s", l, tt.name)
			}
			checkSafe(t, run.Server, r)
		})
	}
}

func TestDoctorBroadPermission(t *testing.T) {
	t.Parallel()
	g := graphsim.LeastPrivilege()
	g.Permissions = append(g.Permissions, graphsim.PermDirectoryReadWriteAll)
	g.Roles = append(g.Roles, graphsim.RoleGlobalAdministrator)
	run, ca := startSim(t, graphsim.Config{Grants: &g})
	r := runDoctorCmd(t, simArgs(run, ca)...)
	if r.code != 0 {
		t.Errorf("exit %d, want 0 (warnings only)", r.code)
	}
	l := r.line(t, "tokens")
	if r.status(t, "tokens") != "warn" || !strings.Contains(l, "Directory.ReadWrite.All") || !strings.Contains(l, "Global Administrator") {
		t.Errorf("tokens line %q: want a warning naming Directory.ReadWrite.All and Global Administrator", l)
	}
	// Directory.ReadWrite.All reads /organization; the simulator does not
	// serve it, so the check reports the answer as a warning.
	if got := r.status(t, "verified domains"); got != "warn" {
		t.Errorf("verified domains: %s, want warn: %s", got, r.line(t, "verified domains"))
	}
	checkSafe(t, run.Server, r)
}

func TestDoctorForeignOwnerAttribute(t *testing.T) {
	t.Parallel()
	seed := graphsim.DefaultSeed()
	disabled := false
	seed.Users = append(seed.Users,
		graphsim.SeedUser{UserPrincipalName: "ra-lobby@contoso.com", DisplayName: "Lobby", AccountEnabled: &disabled,
			Department: graphsim.ResourceAccountDepartment, ExtensionAttributes: map[string]string{"extensionAttribute15": "cost-center 4711"}},
		graphsim.SeedUser{UserPrincipalName: "ra-\x1b[2Jevil@contoso.com", DisplayName: "Evil", AccountEnabled: &disabled,
			Department: graphsim.ResourceAccountDepartment, ExtensionAttributes: map[string]string{"extensionAttribute15": "x"}},
		graphsim.SeedUser{UserPrincipalName: "ra-ours@contoso.com", DisplayName: "Ours", AccountEnabled: &disabled,
			Department: graphsim.ResourceAccountDepartment, ExtensionAttributes: map[string]string{"extensionAttribute15": "raprov:request:req-1"}},
		// Another attribute, or a person: not a finding.
		graphsim.SeedUser{UserPrincipalName: "ra-other@contoso.com", DisplayName: "Other", AccountEnabled: &disabled,
			Department: graphsim.ResourceAccountDepartment, ExtensionAttributes: map[string]string{"extensionAttribute3": "cost-center 1"}},
		graphsim.SeedUser{UserPrincipalName: "person@contoso.com", DisplayName: "Person",
			ExtensionAttributes: map[string]string{"extensionAttribute15": "employee 9"}},
	)
	run, ca := startSim(t, graphsim.Config{Seed: seed})
	r := runDoctorCmd(t, simArgs(run, ca)...)
	if r.code != 0 {
		t.Errorf("exit %d, want 0 (a warning)", r.code)
	}
	if got := r.status(t, "owner attribute"); got != "warn" {
		t.Fatalf("owner attribute: %s, want warn", got)
	}
	if l := r.line(t, "owner attribute"); !strings.Contains(l, "on 2 of 7 resource accounts") {
		t.Errorf("owner attribute line %q: want 2 of 7", l)
	}
	for _, want := range []string{"ra-lobby@contoso.com holds a value", `ra-\x1b[2Jevil@contoso.com holds a value`, "RAPROV_GRAPH_OWNER_ATTRIBUTE"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, bad := range []string{"\x1b", "ra-other@", "person@", "cost-center"} {
		if strings.Contains(r.out, bad) {
			t.Errorf("output holds %q", bad)
		}
	}
	if bytes.Contains(r.capture, []byte("\x1b")) || bytes.Contains(r.capture, []byte("\\u001b")) {
		t.Error("capture holds the control character (the UPN should be pseudonymised)")
	}
	checkSafe(t, run.Server, r)
}

func TestDoctorNoTenant(t *testing.T) {
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "")
	t.Setenv("RAPROV_GRAPH_URL", "")
	r := runDoctorCmd(t)
	if r.code != 3 {
		t.Errorf("exit %d, want 3", r.code)
	}
	if got := r.status(t, "configuration"); got != "FAIL" {
		t.Errorf("configuration: %s, want FAIL", got)
	}
	if got := r.status(t, "tokens"); got != "skip" {
		t.Errorf("tokens: %s, want skip", got)
	}
}

func TestDoctorRefusedCredentials(t *testing.T) {
	t.Parallel()
	run, ca := startSim(t, graphsim.Config{ClientSecret: "another-secret-than-raprovs"})
	r := runDoctorCmd(t, simArgs(run, ca)...)
	if r.code != 3 {
		t.Errorf("exit %d, want 3", r.code)
	}
	if got := r.status(t, "tokens"); got != "FAIL" {
		t.Errorf("tokens: %s, want FAIL", got)
	}
	for _, check := range []string{"license", "teams admin", "numbers", "owner attribute", "verified domains"} {
		if got := r.status(t, check); got != "skip" {
			t.Errorf("%s: %s, want skip", check, got)
		}
	}
	checkSafe(t, run.Server, r)
}

func TestDoctorUnreachable(t *testing.T) {
	t.Parallel()
	run, ca := startSim(t, graphsim.Config{})
	url := run.URL
	run.Close()
	r := runDoctorCmd(t, "--graph-url", url, "--graph-ca", ca)
	if r.code != 4 {
		t.Errorf("exit %d, want 4", r.code)
	}
	if got := r.status(t, "tokens"); got != "FAIL" {
		t.Errorf("tokens: %s, want FAIL", got)
	}
}
