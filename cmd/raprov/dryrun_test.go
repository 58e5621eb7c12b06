package main

// raprov run --dry-run (issue 10, item 7): the bundled example planned
// against the simulator, every verdict as its expect column says, and not
// one write in the simulator's request log.

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raprov/raprov/examples"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/requestfile"
)

func TestDryRunExample(t *testing.T) {
	clearAdapterEnv(t)
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The tenant `raprov run` starts in process (16 free seats), at a URL
	// the test can read the request log of.
	sim, err := graphsim.Start(ctx, demoSimulator(runFlags{seedUnits: 16}), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	ca, file := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "requests.csv")
	if err := os.WriteFile(ca, sim.CACertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, examples.RequestsCSV, 0o644); err != nil {
		t.Fatal(err)
	}
	// As an operator against a tenant at --graph-url: the verified domains
	// come from the settings.
	t.Setenv("RAPROV_VERIFIED_DOMAINS", strings.Join(sim.Server.State().VerifiedDomains, ","))
	before := sim.Server.State()
	logged := len(sim.Server.Requests())

	out, err := executeCmd(newRunCmd(), "--dry-run", "--graph-url", sim.URL, "--graph-ca", ca,
		"--db", filepath.Join(dir, "raprov.db"), "--log-file", filepath.Join(dir, "raprov.log"), file)
	t.Logf("raprov run --dry-run printed:\n%s", out)
	if err != nil {
		t.Fatalf("dry run: %v (want every row as its expect column says)", err)
	}

	// (a) every row's verdict, by its line: completed rows would succeed,
	// the others fail with their expected reason code.
	rows, _, err := requestfile.Parse(strings.NewReader(string(examples.RequestsCSV)))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	for _, r := range rows {
		line := rowLine(lines, r.Request.RequestID)
		if line == "" {
			t.Errorf("%s: no row in the table", r.Request.RequestID)
			continue
		}
		if strings.Contains(line, "≠ expected") {
			t.Errorf("%s: %q", r.Request.RequestID, line)
		}
		switch r.Expect {
		case "", "completed":
			if !strings.Contains(line, "would create") {
				t.Errorf("%s: %q; want would create (the example's UPNs are all free)", r.Request.RequestID, line)
			}
		default:
			if !strings.Contains(line, " fails ") || !strings.Contains(line, " "+r.Expect) {
				t.Errorf("%s: %q; want fails %s", r.Request.RequestID, line, r.Expect)
			}
		}
	}
	for _, want := range []string{"in use by", "not found", "wrong capability", "licenses: PHONESYSTEM_VIRTUALUSER 16 free before this file, 0 after", "would wait for a seat"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// (b) reads only: GETs and the token endpoint, nothing else.
	reqs := sim.Server.Requests()[logged:]
	if len(reqs) == 0 {
		t.Fatal("the dry run read nothing from the simulator")
	}
	for _, rec := range reqs {
		token := rec.Method == http.MethodPost && strings.HasSuffix(rec.Path, "/oauth2/v2.0/token")
		if rec.Method != http.MethodGet && !token {
			t.Errorf("dry run sent %s %s (route %s)", rec.Method, rec.Path, rec.Route)
		}
	}
	after := sim.Server.State()
	if len(after.Users) != len(before.Users) {
		t.Errorf("users: %d before, %d after", len(before.Users), len(after.Users))
	}
	if _, err := os.Stat(filepath.Join(dir, "raprov.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dry run created the queue database (%v)", err)
	}
}

// rowLine returns the table line of request id.
func rowLine(lines []string, id string) string {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 2 && f[1] == id {
			return l
		}
	}
	return ""
}
