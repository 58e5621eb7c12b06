package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/apperr"
)

// TestDoctorRead: Read returns Graph's answer whatever its status, through
// the same adapter as every call, and refuses paths outside the base URL.
func TestDoctorRead(t *testing.T) {
	t.Parallel()
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	ctx := context.Background()

	q := url.Values{"$select": {"skuPartNumber"}}
	st, body, err := c.Read(ctx, "/subscribedSkus", q)
	if err != nil || st != http.StatusOK {
		t.Fatalf("Read = %d, %v", st, err)
	}
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.Value) == 0 {
		t.Fatalf("body %s: %v", body, err)
	}

	// A filter with spaces and quotes reaches Graph intact.
	q = url.Values{"$filter": {"department eq '" + graphsim.ResourceAccountDepartment + "'"}, "$select": {"id,department"}}
	st, body, err = c.Read(ctx, "/users", q)
	if err != nil || st != http.StatusOK || !strings.Contains(string(body), graphsim.ResourceAccountDepartment) ||
		strings.Contains(string(body), "Retail") {
		t.Fatalf("filtered Read = %d, %v: %s", st, err, body)
	}

	// An error status is an answer, not an error.
	f.sim.SetGrants(graphsim.LeastPrivilege().Without(graphsim.PermLicenseAssignmentReadAll))
	c = f.client(t, f.config()) // a new token carries the new grants
	st, body, err = c.Read(ctx, "/subscribedSkus", nil)
	if err != nil || st != http.StatusForbidden || !strings.Contains(string(body), "Authorization_RequestDenied") {
		t.Fatalf("refused Read = %d, %v: %s", st, err, body)
	}

	for _, bad := range []string{"subscribedSkus", "//evil.example/x", "/../beta/users", "/users?$top=1", "https://evil.example/"} {
		if _, _, err := c.Read(ctx, bad, nil); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Read(%q) = %v, want Invalid", bad, err)
		}
	}
	for _, rec := range f.sim.Requests() {
		if rec.Method != http.MethodGet && !strings.HasSuffix(rec.Path, "/token") {
			t.Errorf("Read sent %s %s", rec.Method, rec.Path)
		}
	}
}

func TestDoctorAccessToken(t *testing.T) {
	t.Parallel()
	f := startSim(t, graphsim.Config{})
	ctx := context.Background()
	tok, err := f.client(t, f.config()).AccessToken(ctx, "https://graph.microsoft.com/.default")
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("AccessToken = %q, %v", tok, err)
	}

	cfg := f.config()
	cfg.ClientSecret = "not-the-secret-7f3a"
	_, err = f.client(t, cfg).AccessToken(ctx, "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default")
	if apperr.CodeOf(err) != apperr.Forbidden {
		t.Fatalf("refused AccessToken: %v, want Forbidden", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "AADSTS7000215") || strings.Contains(msg, "not-the-secret-7f3a") {
		t.Errorf("error %q: want the identity platform's reason and never the secret", msg)
	}
}
