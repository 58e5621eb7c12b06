package teamsadmin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/apperr"
)

// TestDoctorProbes: AccessToken returns the calls' token; ListOne and
// GetOne send one GET each and report the status with what they decoded.
func TestDoctorProbes(t *testing.T) {
	t.Parallel()
	srv, c := newGraphsimClient(t, graphsim.DefaultClientSecret)
	ctx := context.Background()

	if tok, err := c.AccessToken(ctx); err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("AccessToken = %q, %v", tok, err)
	}
	_, bad := newGraphsimClient(t, "not-the-secret-5d2e")
	if _, err := bad.AccessToken(ctx); apperr.CodeOf(err) != apperr.Forbidden ||
		!strings.Contains(err.Error(), "AADSTS7000215") || strings.Contains(err.Error(), "not-the-secret-5d2e") {
		t.Errorf("AccessToken with a wrong secret: %v; want Forbidden with the identity platform's reason, without the secret", err)
	}

	st, list, err := c.ListOne(ctx)
	if err != nil || st != http.StatusOK || len(list) != 1 {
		t.Fatalf("ListOne = %d, %d instances, %v", st, len(list), err)
	}
	st, inst, err := c.GetOne(ctx, list[0].ObjectID)
	if err != nil || st != http.StatusOK || inst == nil || *inst != list[0] {
		t.Fatalf("GetOne = %d, %+v, %v; listed %+v", st, inst, err, list[0])
	}

	// A user that is not an instance: the status comes back with the error.
	st, inst, err = c.GetOne(ctx, plainUser(t, srv))
	if st != http.StatusNotFound || inst != nil || apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("GetOne(plain user) = %d, %+v, %v", st, inst, err)
	}
	if _, _, err := c.GetOne(ctx, "../../x"); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("GetOne(not a GUID) = %v, want Invalid", err)
	}

	less := graphsim.LeastPrivilege().Without(graphsim.RoleTeamsAdministrator)
	_, _, c2 := newGraphsimClientFor(t, graphsim.Config{Grants: &less}, graphsim.DefaultClientSecret)
	st, _, err = c2.ListOne(ctx)
	if st != http.StatusForbidden || !strings.Contains(err.Error(), "Access Denied.") {
		t.Errorf("ListOne without the role = %d, %v", st, err)
	}

	for _, rec := range srv.Requests() {
		if rec.Method != http.MethodGet && !strings.HasSuffix(rec.Path, "/token") {
			t.Errorf("probe sent %s %s", rec.Method, rec.Path)
		}
	}
}
