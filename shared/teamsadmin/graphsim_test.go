package teamsadmin_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
)

// newGraphsimClient starts the full simulator (token endpoint included) and
// returns a Client authenticating with a real azidentity client-secret
// credential against it.
func newGraphsimClient(t *testing.T, secret string) (*graphsim.Server, *teamsadmin.Client) {
	t.Helper()
	srv, _, c := newGraphsimClientFor(t, graphsim.Config{}, secret)
	return srv, c
}

// newGraphsimClientFor is newGraphsimClient for a simulator configuration;
// it also returns the simulator's TLS server.
func newGraphsimClientFor(t *testing.T, simCfg graphsim.Config, secret string) (*graphsim.Server, *httptest.Server, *teamsadmin.Client) {
	t.Helper()
	srv, err := graphsim.New(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(ts.Close)
	cred, err := azidentity.NewClientSecretCredential(graphsim.DefaultTenantID, graphsim.DefaultClientID, secret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: ts.URL + "/"},
				Transport: ts.Client(),
			},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	cfg := teamsadmin.DefaultConfig()
	cfg.BaseURL = ts.URL
	cfg.MaxRetries = 0
	c, err := teamsadmin.New(cfg, cred, teamsadmin.WithHTTPClient(ts.Client()),
		teamsadmin.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return srv, ts, c
}

func TestGraphsimClientSecret(t *testing.T) {
	t.Parallel()
	srv, c := newGraphsimClient(t, graphsim.DefaultClientSecret)
	ctx := context.Background()

	inst, err := c.ApplicationInstance(ctx, teamssim.SeedReceptionAccountID)
	if err != nil {
		t.Fatalf("ApplicationInstance: %v", err)
	}
	if inst == nil || inst.ApplicationID != steps.AutoAttendantAppID {
		t.Fatalf("seeded reception account = %+v, want an auto attendant instance", inst)
	}

	userID := plainUser(t, srv)
	if err := c.Bind(ctx, userID, steps.CallQueueAppID); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if err := c.Associate(ctx, steps.Association{ConfigurationID: teamssim.SeedSalesCQID, ConfigurationType: "CallQueue", ObjectIDs: []string{teamssim.SeedSalesUKAccountID, userID}}); err != nil {
		t.Fatalf("Associate: %v", err)
	}

	got := map[string]string{}
	for _, a := range srv.State().Teams.Associations {
		got[a.ObjectID] = a.ConfigurationID
	}
	for _, id := range []string{teamssim.SeedSalesUKAccountID, userID} {
		if got[id] != teamssim.SeedSalesCQID {
			t.Errorf("association of %s = %q, want %s", id, got[id], teamssim.SeedSalesCQID)
		}
	}
}

// plainUser returns a seeded directory user that is not an application instance.
func plainUser(t *testing.T, srv *graphsim.Server) string {
	t.Helper()
	st := srv.State()
	instances := map[string]bool{}
	for _, i := range st.Teams.ApplicationInstances {
		instances[strings.ToLower(i.ObjectID)] = true
	}
	for _, u := range st.Users {
		if !instances[strings.ToLower(u.ID)] {
			return u.ID
		}
	}
	t.Fatal("the default seed has no user that is not a resource account")
	return ""
}

func TestGraphsimWrongSecret(t *testing.T) {
	t.Parallel()
	const wrong = "not-the-secret-3b1f"
	_, c := newGraphsimClient(t, wrong)

	_, err := c.ApplicationInstance(context.Background(), teamssim.SeedReceptionAccountID)

	wantErr(t, err, apperr.Forbidden, "permission_denied")
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error leaks the client secret: %v", err)
	}
}

// TestGraphsimTeamsSyncDelay: the Graph simulator's teamsSyncDelay knob,
// set through its admin API, hides an account created in its directory from
// the Teams back end until the delay has passed.
func TestGraphsimTeamsSyncDelay(t *testing.T) {
	t.Parallel()
	const fresh = "c25e6f7a-8b9c-4d0e-9f1a-5b6c7d8e9fa0"
	seed := graphsim.DefaultSeed()
	seed.Users = append(seed.Users, graphsim.SeedUser{ID: fresh, UserPrincipalName: "cq-fresh@contoso.com",
		DisplayName: "Fresh CQ", UsageLocation: "US", Department: graphsim.ResourceAccountDepartment, CreatedDateTime: time.Now()})
	_, ts, c := newGraphsimClientFor(t, graphsim.Config{Seed: seed}, graphsim.DefaultClientSecret)
	ctx := context.Background()
	setKnobs := func(body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, ts.URL+"/_sim/knobs", strings.NewReader(body))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT /_sim/knobs %s = %d", body, resp.StatusCode)
		}
	}

	setKnobs(`{"teamsSyncDelay":"1h"}`)
	wantErr(t, c.Bind(ctx, fresh, steps.CallQueueAppID), apperr.NotFound, "")
	err := c.Associate(ctx, steps.Association{ConfigurationID: teamssim.SeedSalesCQID, ConfigurationType: "CallQueue", ObjectIDs: []string{fresh}, Created: true})
	wantErr(t, err, apperr.NotFound, "")

	setKnobs(`{"teamsSyncDelay":"0s"}`)
	if err := c.Bind(ctx, fresh, steps.CallQueueAppID); err != nil {
		t.Fatalf("Bind once Teams knows the account: %v", err)
	}
	if err := c.Associate(ctx, steps.Association{ConfigurationID: teamssim.SeedSalesCQID, ConfigurationType: "CallQueue", ObjectIDs: []string{fresh}, Created: true}); err != nil {
		t.Fatalf("Associate once Teams knows the account: %v", err)
	}
}
