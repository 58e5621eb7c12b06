package graphsim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/raprov/raprov/infra/graphsim"
)

func assignBody(add ...string) map[string]any {
	licenses := []map[string]any{}
	for _, id := range add {
		licenses = append(licenses, map[string]any{"skuId": id, "disabledPlans": []string{}})
	}
	return map[string]any{"addLicenses": licenses, "removeLicenses": []string{}}
}

type skuBody struct {
	ID               string `json:"id"`
	AccountID        string `json:"accountId"`
	SkuID            string `json:"skuId"`
	SkuPartNumber    string `json:"skuPartNumber"`
	AppliesTo        string `json:"appliesTo"`
	CapabilityStatus string `json:"capabilityStatus"`
	ConsumedUnits    int    `json:"consumedUnits"`
	PrepaidUnits     struct {
		Enabled   int `json:"enabled"`
		Suspended int `json:"suspended"`
		Warning   int `json:"warning"`
		LockedOut int `json:"lockedOut"`
	} `json:"prepaidUnits"`
	ServicePlans []struct {
		ServicePlanID   string `json:"servicePlanId"`
		ServicePlanName string `json:"servicePlanName"`
	} `json:"servicePlans"`
}

func skuByPart(t *testing.T, e *env, part string) skuBody {
	t.Helper()
	resp, b := e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantStatus(t, resp, b, http.StatusOK)
	for _, s := range decode[struct{ Value []skuBody }](t, b).Value {
		if s.SkuPartNumber == part {
			return s
		}
	}
	t.Fatalf("no sku %s in %s", part, b)
	return skuBody{}
}

func TestSubscribedSkus(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	resp, b := e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantStatus(t, resp, b, http.StatusOK)
	if resp.Header.Get("x-ms-resource-unit") != "3" {
		t.Errorf("x-ms-resource-unit = %q, want 3", resp.Header.Get("x-ms-resource-unit"))
	}
	s := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber)
	if s.SkuID != graphsim.VirtualUserSkuID || s.ID != graphsim.DefaultTenantID+"_"+graphsim.VirtualUserSkuID ||
		s.AccountID != graphsim.DefaultTenantID || s.AppliesTo != "User" || s.CapabilityStatus != "Enabled" ||
		s.PrepaidUnits.Enabled != 50 || s.ConsumedUnits != 3 {
		t.Errorf("sku = %+v", s)
	}
	if len(s.ServicePlans) != 1 || s.ServicePlans[0].ServicePlanID != graphsim.VirtualUserPlanID || s.ServicePlans[0].ServicePlanName != "MCOEV_VIRTUALUSER" {
		t.Errorf("servicePlans = %+v", s.ServicePlans)
	}
	resp, b = e.do(t, http.MethodGet, "/v1.0/subscribedSkus/"+s.ID, nil)
	wantStatus(t, resp, b, http.StatusOK)
	if got := decode[skuBody](t, b); got.SkuID != s.SkuID {
		t.Errorf("GET by id = %+v", got)
	}
}

func TestAssignLicense(t *testing.T) {
	seed := graphsim.DefaultSeed()
	seed.Skus[0].Enabled = 4 // three resource accounts hold one each: one free
	// Assigns right after setting the usage location: without the
	// UsageLocationDelay rule, which TestUsageLocationDelay covers.
	e := newEnv(t, graphsim.Config{Seed: seed, Knobs: graphsim.Knobs{UsageLocationDelay: -1}})
	noLocation := newUser("nolocation")
	delete(noLocation, "usageLocation")
	id := e.createUser(t, noLocation)
	second := e.createUser(t, newUser("second"))
	assign := func(user string, body any) (*http.Response, []byte) {
		return e.do(t, http.MethodPost, "/v1.0/users/"+user+"/assignLicense", body)
	}
	const vu = graphsim.VirtualUserSkuID

	resp, b := assign(id, assignBody(vu))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")

	resp, b = e.do(t, http.MethodPatch, "/v1.0/users/"+id, map[string]any{"usageLocation": "US"})
	wantStatus(t, resp, b, http.StatusNoContent)

	resp, b = assign(id, map[string]any{"addLicenses": []any{map[string]any{"skuId": vu, "disabledPlans": []string{}}}})
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "The missing parameters are: removeLicenses.")

	const unknown = "99999999-9999-4999-9999-999999999999"
	resp, b = assign(id, assignBody(unknown))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "License "+unknown+" does not correspond to a valid company License.")

	resp, b = assign(id, assignBody(vu))
	wantStatus(t, resp, b, http.StatusOK)
	got := decode[userBody](t, b)
	if got.ID != id || got.UserPrincipalName != "nolocation@contoso.com" {
		t.Errorf("assignLicense returned %+v", got)
	}
	if n := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber).ConsumedUnits; n != 4 {
		t.Errorf("consumedUnits = %d, want 4", n)
	}

	resp, b = assign(id, assignBody(vu)) // already assigned: no-op
	wantStatus(t, resp, b, http.StatusOK)
	if n := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber).ConsumedUnits; n != 4 {
		t.Errorf("consumedUnits after re-assign = %d, want 4", n)
	}

	resp, b = assign(second, assignBody(vu))
	g := wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "does not have any available licenses")
	if !strings.Contains(g.Error.Message, vu) {
		t.Errorf("message %q does not name the sku", g.Error.Message)
	}

	resp, b = e.do(t, http.MethodGet, "/v1.0/users/"+id+"/licenseDetails", nil)
	wantStatus(t, resp, b, http.StatusOK)
	details := decode[struct {
		Value []struct {
			ID            string `json:"id"`
			SkuID         string `json:"skuId"`
			SkuPartNumber string `json:"skuPartNumber"`
			ServicePlans  []struct {
				ServicePlanName    string `json:"servicePlanName"`
				ProvisioningStatus string `json:"provisioningStatus"`
			} `json:"servicePlans"`
		}
	}](t, b)
	if len(details.Value) != 1 || details.Value[0].SkuID != vu || details.Value[0].SkuPartNumber != graphsim.VirtualUserSkuPartNumber ||
		details.Value[0].ID == "" || len(details.Value[0].ServicePlans) != 1 || details.Value[0].ServicePlans[0].ProvisioningStatus != "Success" {
		t.Errorf("licenseDetails = %+v", details)
	}

	resp, b = assign(id, map[string]any{"addLicenses": []any{}, "removeLicenses": []string{vu}})
	wantStatus(t, resp, b, http.StatusOK)
	if n := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber).ConsumedUnits; n != 3 {
		t.Errorf("consumedUnits after remove = %d, want 3", n)
	}
	resp, b = assign(second, assignBody(vu)) // the freed unit
	wantStatus(t, resp, b, http.StatusOK)

	if err := e.sim.AddLicenses(graphsim.VirtualUserSkuPartNumber, 10); err != nil {
		t.Fatal(err)
	}
	if s := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber); s.PrepaidUnits.Enabled != 14 {
		t.Errorf("enabled after AddLicenses = %d, want 14", s.PrepaidUnits.Enabled)
	}
	if err := e.sim.AddLicenses("NO_SUCH_SKU", 1); err == nil {
		t.Error("AddLicenses(unknown) = nil")
	}
}

func TestAssignLicenseSuspendedSku(t *testing.T) {
	seed, err := graphsim.LoadSeed("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, graphsim.Config{Seed: seed})
	resp, b := e.do(t, http.MethodPost, "/v1.0/users/d'arcy@fabrikam.com/assignLicense", assignBody(graphsim.EnterprisePackSkuID))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "does not have any available licenses")
}
