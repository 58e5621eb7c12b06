package graph_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/steps"
)

// The ownership mark travels in the create call itself (one write) and is
// read back by FindByUPN and Get, in the extension attribute configured.
func TestOwnerMark(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	ctx := context.Background()
	for _, attr := range []int{0, 3} { // 0: the default, extensionAttribute15
		cfg := f.config()
		cfg.OwnerAttribute = attr
		c := f.client(t, cfg)
		upn := "ra-owned-" + strconv.Itoa(attr) + "@contoso.com"
		f.sim.ResetLog()
		created, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: upn, DisplayName: "Owned", UsageLocation: "US", OwnerMark: steps.OwnerMark("REQ-7")})
		if err != nil {
			t.Fatal(err)
		}
		counts := f.sim.Counts()
		if n := counts["POST /v1.0/users"]; n.Writes != 1 || counts["PATCH /v1.0/users/{id}"].Total != 0 {
			t.Errorf("attribute %d: calls %+v, want the create alone", attr, counts)
		}
		want := attr
		if want == 0 {
			want = 15
		}
		i := slices.IndexFunc(f.sim.State().Users, func(u graphsim.User) bool { return u.ID == created.ID })
		ext, _ := f.sim.State().Users[i].Other["onPremisesExtensionAttributes"].(map[string]any)
		if got := ext[extensionAttribute(want)]; got != steps.OwnerMark("REQ-7") {
			t.Errorf("stored %s = %v, want the mark (attributes %v)", extensionAttribute(want), got, ext)
		}
		found, err := c.FindByUPN(ctx, upn)
		if err != nil || found == nil || found.OwnerMark != steps.OwnerMark("REQ-7") {
			t.Errorf("FindByUPN = %+v, %v; want the mark read back", found, err)
		}
		got, err := c.Get(ctx, created.ID)
		if err != nil || got.OwnerMark != steps.OwnerMark("REQ-7") {
			t.Errorf("Get = %+v, %v; want the mark read back", got, err)
		}
	}
	// An account nobody marked reads without one.
	c := f.client(t, f.config())
	adele, err := c.FindByUPN(ctx, "AdeleV@contoso.com")
	if err != nil || adele == nil || adele.OwnerMark != "" {
		t.Errorf("FindByUPN(person) = %+v, %v; want no mark", adele, err)
	}
}

func extensionAttribute(n int) string {
	return "extensionAttribute" + strconv.Itoa(n)
}

// AssignedTo lists the numbers an account holds, by assignmentTargetId.
func TestAssignedTo(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	held, err := c.AssignedTo(context.Background(), teamssim.SeedReceptionAccountID)
	if err != nil || len(held) != 1 || held[0].TelephoneNumber != "+12065550142" {
		t.Fatalf("AssignedTo(reception) = %+v, %v; want its one number", held, err)
	}
	held, err = c.AssignedTo(context.Background(), "00000000-0000-4000-8000-000000000001")
	if err != nil || len(held) != 0 {
		t.Fatalf("AssignedTo(nobody) = %+v, %v; want none", held, err)
	}
}

// An owner attribute outside extensionAttribute1–15 is a configuration error.
func TestOwnerAttributeRange(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	for _, n := range []int{-1, 16} {
		cfg := f.config()
		cfg.OwnerAttribute = n
		if _, err := graph.New(cfg); err == nil || !strings.Contains(err.Error(), "owner attribute") {
			t.Errorf("OwnerAttribute %d: error %v, want a configuration error", n, err)
		}
	}
}

// Inventory reads every number, following nextLink past the first page.
func TestInventory(t *testing.T) {
	seed := graphsim.DefaultSeed()
	base := len(seed.Teams.Numbers)
	for i := range 1200 {
		seed.Teams.Numbers = append(seed.Teams.Numbers, teamssim.Number{
			TelephoneNumber: fmt.Sprintf("+1206555%04d", 2000+i),
			NumberType:      teamssim.NumberTypeCallingPlan,
			Capabilities:    []string{teamssim.CapabilityVoiceApplicationAssignment},
			IsoCountryCode:  "US",
		})
	}
	f := startSim(t, graphsim.Config{Seed: seed})
	c := f.client(t, f.config())
	f.sim.ResetLog()
	all, err := c.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != base+1200 {
		t.Fatalf("%d numbers, want %d", len(all), base+1200)
	}
	if n := f.sim.Counts()["GET /v1.0/admin/teams/telephoneNumberManagement/numberAssignments"].Total; n != 2 {
		t.Errorf("%d reads, want 2 pages", n)
	}
}
