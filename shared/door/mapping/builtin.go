package mapping

import "github.com/raprov/raprov/events"

// Names of the built-in mappings.
const (
	NameServiceNow = "servicenow"
	NameWorkday    = "workday"
)

// Builtin returns the built-in mapping called name, and whether there is
// one.
func Builtin(name string) (Mapping, bool) {
	switch name {
	case NameServiceNow:
		return ServiceNow(), true
	case NameWorkday:
		return Workday(), true
	}
	return Mapping{}, false
}

// ServiceNow returns the mapping of a ServiceNow catalog request: a
// requested item (sc_req_item) of a catalog item "Teams resource account",
// posted by an Outbound REST Message or a Flow Designer REST step with the
// body docs/senders.md shows. The item's number, sys_id and the catalog
// variables (by variable name, under "variables") are ServiceNow's; the
// variable names and choice values are the ones docs/senders.md asks the
// admin to create, and can be renamed with an override (LoadMapping).
//
//	requestId          number, else sys_id, prefixed "servicenow-"
//	displayName        variables.display_name
//	userPrincipalName  variables.account_upn
//	accountType        variables.account_type: aa, cq or their labels
//	usageLocation      variables.usage_location (alpha-2; alpha-3 converted)
//	phoneNumber        variables.phone_number (optional)
//	numberType         variables.number_type: calling_plan, operator_connect, direct_routing or labels (optional)
//	associateWith      variables.associate_with (optional)
//	callbackUrl        callback_url (optional)
//	adopt              variables.adopt_existing, a check box (optional)
//
// Each call returns a new copy.
func ServiceNow() Mapping {
	return Mapping{
		Name: NameServiceNow,
		Fields: Fields{
			RequestID:         Field{Path: "number", Fallback: []string{"sys_id"}, Prefix: "servicenow-", Required: true},
			DisplayName:       Field{Path: "variables.display_name", Required: true},
			UserPrincipalName: Field{Path: "variables.account_upn", Required: true},
			AccountType: Field{Path: "variables.account_type", Required: true, Values: map[string]string{
				"aa":             events.AccountTypeAutoAttendant,
				"auto_attendant": events.AccountTypeAutoAttendant,
				"auto attendant": events.AccountTypeAutoAttendant,
				"cq":             events.AccountTypeCallQueue,
				"call_queue":     events.AccountTypeCallQueue,
				"call queue":     events.AccountTypeCallQueue,
			}},
			UsageLocation: Field{Path: "variables.usage_location", Required: true, Convert: ConvertISO3166Alpha3},
			PhoneNumber:   Field{Path: "variables.phone_number"},
			NumberType: Field{Path: "variables.number_type", Values: map[string]string{
				"calling_plan":     events.NumberTypeCallingPlan,
				"calling plan":     events.NumberTypeCallingPlan,
				"operator_connect": events.NumberTypeOperatorConnect,
				"operator connect": events.NumberTypeOperatorConnect,
				"direct_routing":   events.NumberTypeDirectRouting,
				"direct routing":   events.NumberTypeDirectRouting,
			}},
			AssociateWith: Field{Path: "variables.associate_with"},
			CallbackURL:   Field{Path: "callback_url"},
			Adopt:         Field{Path: "variables.adopt_existing"},
		},
	}
}

// Workday returns the mapping of a Workday business-process event, as an
// integration (Workday Studio, Orchestrate or middleware) posts it in the
// JSON docs/senders.md shows. Workday pushes no JSON of its own for
// business-process events: the event part (id, descriptor, effectiveDate,
// status, businessProcessType) follows Workday's REST businessProcess
// resource, references are {id, descriptor} objects as in Workday's REST
// API, and the country carries Workday's ISO_3166-1_Alpha-3_Code reference
// id; the Teams fields come from a custom object on the position, which
// is an assumption to adapt with an override (LoadMapping).
//
//	requestId          event.id (the event's Workday ID), prefixed "workday-"
//	displayName        position.customObjects.teamsResourceAccount.displayName, else position.businessTitle
//	userPrincipalName  position.customObjects.teamsResourceAccount.userPrincipalName
//	accountType        position.customObjects.teamsResourceAccount.accountType: Auto Attendant or Call Queue
//	usageLocation      location.country.ISO_3166-1_Alpha-3_Code (converted to alpha-2), else ...Alpha-2_Code
//	phoneNumber        location.businessPhone.e164, else location.businessPhone.formatted (optional)
//	numberType         position.customObjects.teamsResourceAccount.numberType (optional)
//	associateWith      position.customObjects.teamsResourceAccount.associateWith (optional)
//
// Each call returns a new copy.
func Workday() Mapping {
	const teams = "position.customObjects.teamsResourceAccount."
	return Mapping{
		Name: NameWorkday,
		Fields: Fields{
			RequestID:         Field{Path: "event.id", Prefix: "workday-", Required: true},
			DisplayName:       Field{Path: teams + "displayName", Fallback: []string{"position.businessTitle"}, Required: true},
			UserPrincipalName: Field{Path: teams + "userPrincipalName", Required: true},
			AccountType: Field{Path: teams + "accountType", Required: true, Values: map[string]string{
				"auto attendant": events.AccountTypeAutoAttendant,
				"call queue":     events.AccountTypeCallQueue,
			}},
			UsageLocation: Field{
				Path:     "location.country.ISO_3166-1_Alpha-3_Code",
				Fallback: []string{"location.country.ISO_3166-1_Alpha-2_Code"},
				Convert:  ConvertISO3166Alpha3,
				Required: true,
			},
			PhoneNumber: Field{Path: "location.businessPhone.e164", Fallback: []string{"location.businessPhone.formatted"}},
			NumberType: Field{Path: teams + "numberType", Values: map[string]string{
				"calling plan":     events.NumberTypeCallingPlan,
				"operator connect": events.NumberTypeOperatorConnect,
				"direct routing":   events.NumberTypeDirectRouting,
			}},
			AssociateWith: Field{Path: teams + "associateWith"},
		},
	}
}
