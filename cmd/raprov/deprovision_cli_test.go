package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
)

// raprov deprovision REQUEST_ID against a simulator that outlives the
// commands (--graph-url): run provisions, deprovision removes exactly the
// account that request created (found through the ledger of --db), a
// refused id submits nothing, and asking again removes nothing twice.
func TestCLIDeprovision(t *testing.T) {
	dir, flags := chainEnv(t)
	sim, ca := startSim(t, graphsim.Config{Seed: graphsim.DefaultSeed(), Knobs: graphsim.Knobs{TimeScale: 1, OperationStepDelay: 20 * time.Millisecond}})
	flags = append(flags, "--graph-url", sim.URL, "--graph-ca", ca)
	before := sim.Server.Snapshot()

	file := filepath.Join(dir, "requests.csv")
	if err := os.WriteFile(file, []byte("RequestId,UserPrincipalName,DisplayName,ApplicationType,UsageLocation,PhoneNumber\n"+
		"DP-1,ra-dp-1@contoso.com,Line one,AA,US,+12065550143\n"+
		"DP-2,ra-dp-2@contoso.com,Line two,CQ,US,\n"+
		"DP-BAD,ra-dp-bad@contoso.com,Nowhere,AA,XX,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "", append([]string{"run", "--demo-timing", "-o", "json", "--progress", "none", file}, flags...)...); r.code != exitFailed {
		t.Fatalf("run: exit %d (want 1: DP-BAD fails); stderr:\n%s", r.code, r.stderr)
	}
	provisioned := sim.Server.Snapshot()

	// An unknown id, a request that never made an account and a good one:
	// nothing is submitted at all.
	r := cli(t, "", append([]string{"deprovision", "--demo-timing", "DP-1", "DP-BAD", "NOPE"}, flags...)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "nothing was submitted") ||
		!strings.Contains(r.stderr, "NOPE: no such request") || !strings.Contains(r.stderr, "before an account was created") {
		t.Fatalf("refused ids: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	if diff := provisioned.Diff(sim.Server.Snapshot()); len(diff) != 0 {
		t.Fatalf("a refused deprovision changed the tenant: %v", diff)
	}

	r = cli(t, "", append([]string{"deprovision", "--demo-timing", "-o", "json", "--progress", "none", "DP-1"}, flags...)...)
	if r.code != exitOK {
		t.Fatalf("deprovision: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	recs := decodeStrict[[]runRecord](t, r.stdout)
	if len(recs) != 1 || recs[0].RequestID != events.DeprovisionID("DP-1") || recs[0].Outcome != "completed" || recs[0].Account != "ra-dp-1@contoso.com" {
		t.Fatalf("records %+v", recs)
	}
	after := sim.Server.Snapshot()
	// DP-1's account and everything it held are gone; DP-2's is untouched.
	for _, u := range after.Users {
		if u.UserPrincipalName == "ra-dp-1@contoso.com" {
			t.Errorf("the account is still there: %+v", u)
		}
	}
	if len(after.Users) != len(provisioned.Users)-1 || len(after.Users) != len(before.Users)+1 {
		t.Errorf("%d users before, %d provisioned, %d after", len(before.Users), len(provisioned.Users), len(after.Users))
	}
	if after.ConsumedUnits[graphsim.VirtualUserSkuPartNumber] != provisioned.ConsumedUnits[graphsim.VirtualUserSkuPartNumber]-1 {
		t.Errorf("license seats: %v provisioned, %v after", provisioned.ConsumedUnits, after.ConsumedUnits)
	}
	for _, n := range after.Numbers {
		if n.TelephoneNumber == "+12065550143" && n.AssignmentTargetID != "" {
			t.Errorf("the number is still assigned: %+v", n)
		}
	}

	// Again: a duplicate, answered from the ledger; nothing changes.
	r = cli(t, "", append([]string{"deprovision", "--demo-timing", "--progress", "none", "DP-1"}, flags...)...)
	if r.code != exitOK {
		t.Fatalf("second deprovision: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	if diff := after.Diff(sim.Server.Snapshot()); len(diff) != 0 {
		t.Errorf("the second deprovision changed the tenant: %v", diff)
	}
}

// One row of a file cannot remove an account unless the operator allowed
// files to (RAPROV_ALLOW_DEPROVISION_ROWS): the row is a bad row, and the
// other rows still run.
func TestCLIDeprovisionRowsOff(t *testing.T) {
	dir, flags := chainEnv(t)
	t.Setenv("RAPROV_ALLOW_DEPROVISION_ROWS", "false")
	file := filepath.Join(dir, "requests.csv")
	if err := os.WriteFile(file, []byte("RequestId,UserPrincipalName,DisplayName,ApplicationType,UsageLocation,Action,Target\n"+
		"OK-1,ra-ok-1@contoso.com,Line one,AA,US,,\n"+
		"RM-1,ra-support@contoso.com,,,,deprovision,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", append([]string{"run", "-o", "json", "--progress", "none", file}, flags...)...)
	if r.code != exitFailed || !strings.Contains(r.stderr, "deprovision rows are off") {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	recs := decodeStrict[[]runRecord](t, r.stdout)
	if len(recs) != 2 || recs[0].Outcome != "completed" || recs[1].Outcome != "invalid" || recs[1].Line != 3 {
		t.Errorf("records %+v", recs)
	}
}

// An account raprov created for one request and a later request adopted is
// the later request's line: deprovisioning the first, by id or by a file's
// row, is refused before anything is submitted, and the tenant is left as
// it was.
func TestCLIDeprovisionRefusesAnAccountTakenOver(t *testing.T) {
	dir, flags := chainEnv(t)
	t.Setenv("RAPROV_ALLOW_ADOPT", "true")
	t.Setenv("RAPROV_ALLOW_DEPROVISION_ROWS", "true")
	sim, ca := startSim(t, graphsim.Config{Seed: graphsim.DefaultSeed(), Knobs: graphsim.Knobs{TimeScale: 1, OperationStepDelay: 20 * time.Millisecond}})
	flags = append(flags, "--graph-url", sim.URL, "--graph-ca", ca)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := write("first.csv", "RequestId,UserPrincipalName,DisplayName,ApplicationType,UsageLocation\n"+
		"TO-A,ra-to@contoso.com,Line A,AA,US\n")
	if r := cli(t, "", append([]string{"run", "--demo-timing", "--progress", "none", first}, flags...)...); r.code != exitOK {
		t.Fatalf("run TO-A: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	second := write("second.csv", "RequestId,UserPrincipalName,DisplayName,ApplicationType,UsageLocation,Adopt\n"+
		"TO-B,ra-to@contoso.com,Line B,AA,US,true\n")
	if r := cli(t, "", append([]string{"run", "--demo-timing", "--progress", "none", second}, flags...)...); r.code != exitOK {
		t.Fatalf("run TO-B (adopt): exit %d; stderr:\n%s", r.code, r.stderr)
	}
	held := sim.Server.Snapshot()

	r := cli(t, "", append([]string{"deprovision", "--demo-timing", "TO-A"}, flags...)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "nothing was submitted") || !strings.Contains(r.stderr, "adopted by request TO-B") {
		t.Fatalf("deprovision TO-A: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	rows := write("rows.csv", "RequestId,UserPrincipalName,Action,Target\n"+
		"RM-A,ra-to@contoso.com,deprovision,TO-A\n")
	r = cli(t, "", append([]string{"run", "--demo-timing", "-o", "json", "--progress", "none", rows}, flags...)...)
	if r.code != exitFailed || !strings.Contains(r.stderr, "adopted by request TO-B") {
		t.Fatalf("run of a row deprovisioning TO-A: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	if recs := decodeStrict[[]runRecord](t, r.stdout); len(recs) != 1 || recs[0].Outcome != "invalid" || recs[0].Line != 2 {
		t.Errorf("records %+v, want line 2 invalid", recs)
	}
	if diff := held.Diff(sim.Server.Snapshot()); len(diff) != 0 {
		t.Errorf("a refused deprovision changed the tenant: %v", diff)
	}
}
