package teamsadmin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
)

// TestSimTeamsSyncDelay: what the adapter returns while Teams has not learned
// of a new account (teamssim's TeamsSyncDelay), and that the same calls
// succeed once it has.
func TestSimTeamsSyncDelay(t *testing.T) {
	t.Parallel()
	const newAccount = "b14d5e6f-7a8b-4c9d-8e0f-4a5b6c7d8e9f"
	dir := directory{
		newAccount: {ID: newAccount, UserPrincipalName: "aa-new@contoso.com", DisplayName: "New AA", UsageLocation: "US",
			Licensed: true, CreatedDateTime: time.Now(), LicensedDateTime: time.Now()},
	}
	sim := teamssim.New(teamssim.Config{
		Directory: dir,
		Seed: teamssim.Seed{Configurations: []teamssim.Configuration{
			{ID: cfgAA, Type: teamssim.ConfigurationAutoAttendant, Name: "Main"},
		}},
		Knobs: teamssim.Knobs{TeamsSyncDelay: time.Hour},
	})
	mux := http.NewServeMux()
	sim.Register(mux)
	c := newClient(t, requireAuth(mux), func(c *teamsadmin.Config) { c.MaxRetries = 0 })
	ctx := context.Background()
	associate := func(created bool) error {
		return c.Associate(ctx, steps.Association{ConfigurationID: cfgAA, ConfigurationType: "AutoAttendant",
			ObjectIDs: []string{newAccount}, Created: created})
	}

	// Teams does not know the account yet: every call says not found,
	// without a reason, so the step can wait for it.
	wantErr(t, c.Bind(ctx, newAccount, steps.AutoAttendantAppID), apperr.NotFound, "")
	if inst, err := c.ApplicationInstance(ctx, newAccount); inst != nil || err != nil {
		t.Errorf("ApplicationInstance = %+v, %v; want nil, nil", inst, err)
	}
	wantErr(t, associate(true), apperr.NotFound, "")
	wantErr(t, associate(false), apperr.NotFound, "")

	// Synced: the same calls go through.
	sim.SetKnobs(teamssim.Knobs{})
	if err := c.Bind(ctx, newAccount, steps.AutoAttendantAppID); err != nil {
		t.Fatalf("Bind after the sync: %v", err)
	}
	if err := associate(true); err != nil {
		t.Fatalf("Associate after the sync: %v", err)
	}
	if got := sim.State().Associations; len(got) != 1 || got[0].ConfigurationID != cfgAA {
		t.Errorf("associations = %+v", got)
	}
}
