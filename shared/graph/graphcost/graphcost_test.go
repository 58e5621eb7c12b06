package graphcost_test

import (
	"net/url"
	"testing"

	"github.com/raprov/raprov/shared/graph/graphcost"
)

func TestOf(t *testing.T) {
	sel := url.Values{"$select": {"id"}}
	tests := []struct {
		method, path string
		q            url.Values
		want         graphcost.Cost
	}{
		{"GET", "/v1.0/users/abc", nil, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 2}},
		{"GET", "/v1.0/users", nil, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 2}},
		{"GET", "/v1.0/users", sel, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 1}},
		{"GET", "/v1.0/users", url.Values{"$expand": {"manager"}}, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 3}},
		{"GET", "/v1.0/users", url.Values{"$select": {"id"}, "$top": {"1"}}, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 1}},
		{"GET", "/v1.0/users", url.Values{"$top": {"999"}}, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 2}},
		{"GET", "/v1.0/users/abc/licenseDetails", nil, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 2}},
		{"GET", "/v1.0/subscribedSkus", nil, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 3}},
		{"GET", "/v1.0/subscribedSkus", sel, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 2}},
		{"POST", "/v1.0/users", nil, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 1, Write: true}},
		{"POST", "/v1.0/users/abc/assignLicense", nil, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 1, Write: true}},
		{"PATCH", "/v1.0/users/abc", nil, graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 1, Write: true}},
		{"POST", "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber", nil, graphcost.Cost{Service: graphcost.Teams, ResourceUnits: 1}},
		{"POST", "/tenant/oauth2/v2.0/token", nil, graphcost.Cost{Service: graphcost.Other}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if got := graphcost.Of(tt.method, tt.path, tt.q); got != tt.want {
				t.Errorf("Of = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := graphcost.ResourceUnitsPerWindow(10); got != 3500 {
		t.Errorf("small tenant RU = %d", got)
	}
	if got := graphcost.ResourceUnitsPerWindow(501); got != 8000 {
		t.Errorf("large tenant RU = %d", got)
	}
}
