package mapping_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/raprov/raprov/shared/door/mapping"
)

func ExampleApply() {
	body := []byte(`{
		"number": "RITM0010023",
		"sys_id": "9d385017c611228701d22104cc95c371",
		"variables": {
			"display_name": "Seattle Main Line",
			"account_upn": "ra-seattle-main@contoso.com",
			"account_type": "Auto attendant",
			"usage_location": "US",
			"phone_number": "+12065550143"
		}
	}`)
	r, err := mapping.Apply(mapping.ServiceNow(), body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.RequestID, r.AccountType, r.UsageLocation, r.PhoneNumber)
	// Output: servicenow-RITM0010023 autoAttendant US +12065550143
}

func ExampleLoadMapping() {
	// The catalog item calls its UPN variable u_resource_upn.
	m, err := mapping.LoadMapping(strings.NewReader(`{
		"base": "servicenow",
		"fields": {"userPrincipalName": {"path": "variables.u_resource_upn"}}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = mapping.Apply(m, []byte(`{"number":"RITM0010024","variables":{"display_name":"Desk","account_type":"cq","usage_location":"DE"}}`))
	fmt.Println(errors.Is(err, mapping.ErrMissing))
	fmt.Println(err)
	// Output:
	// true
	// servicenow mapping: userPrincipalName: variables.u_resource_upn is missing or empty
}
