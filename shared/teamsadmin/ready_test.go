package teamsadmin_test

import (
	"context"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/apperr"
)

// Ready reads the list route once and trusts a success for a while; an app
// without the Teams roles is refused (permission_denied), so create-account
// can stop before its first write.
func TestReady(t *testing.T) {
	srv, c := newGraphsimClient(t, graphsim.DefaultClientSecret)
	ctx := context.Background()
	srv.ResetLog()
	for range 3 {
		if err := c.Ready(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Counts()["GET /Teams.PlatformService/v2/ApplicationInstances"].Total; n != 1 {
		t.Errorf("%d list reads for three checks, want one (cached)", n)
	}

	srv2, c2 := newGraphsimClient(t, graphsim.DefaultClientSecret)
	g := graphsim.LeastPrivilege()
	g.Roles = nil // no Teams Administrator, no User Administrator
	srv2.SetGrants(g)
	err := c2.Ready(ctx)
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Forbidden || e.Reason != events.ReasonPermissionDenied {
		t.Fatalf("Ready without the Teams roles: %v, want Forbidden permission_denied", err)
	}
}
