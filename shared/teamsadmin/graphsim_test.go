package teamsadmin_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

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
	srv, err := graphsim.New(graphsim.Config{})
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
	return srv, c
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
