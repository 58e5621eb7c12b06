package events

// Reason is the machine-readable cause of a failed provisioning request.
// The list is closed: every value a step may emit is declared here and
// documented in docs/reasons.md. Callers branch on Reason, never on messages.
type Reason string

// Reason codes carried by provisioning.failed events.
const (
	// ReasonInvalidRequest: a field of the request is missing or malformed;
	// the failure names the field.
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonDomainNotVerified: the UPN's domain is not a verified domain of the tenant.
	ReasonDomainNotVerified Reason = "domain_not_verified"
	// ReasonUPNConflict: the UPN belongs to a normal user or to a resource
	// account of the other type.
	ReasonUPNConflict Reason = "upn_conflict"
	// ReasonNoLicense: no free Virtual User license appeared before the
	// configured wait ran out, or the tenant has no such SKU.
	ReasonNoLicense Reason = "no_license"
	// ReasonNumberNotFound: the phone number is not in the tenant's inventory.
	ReasonNumberNotFound Reason = "number_not_found"
	// ReasonNumberInUse: the phone number is assigned to another user or resource account.
	ReasonNumberInUse Reason = "number_in_use"
	// ReasonNumberNotAssignable: the number's capabilities or type do not allow
	// assignment to a voice application (auto attendant / call queue).
	ReasonNumberNotAssignable Reason = "number_not_assignable"
	// ReasonNumberCountryMismatch: the number's country differs from the account's usage location.
	ReasonNumberCountryMismatch Reason = "number_country_mismatch"
	// ReasonNumberAssignmentFailed: Teams accepted the assignment but its
	// asynchronous operation ended in failure.
	ReasonNumberAssignmentFailed Reason = "number_assignment_failed"
	// ReasonAssociationFailed: the auto attendant or call queue to associate
	// with does not exist or refused the association.
	ReasonAssociationFailed Reason = "association_failed"
	// ReasonRequestConflict: the requestId was already used for a different
	// request; the first request stands and this one is refused.
	ReasonRequestConflict Reason = "request_conflict"
	// ReasonTeamsNotReady: Teams did not learn of the new or newly licensed
	// account (Entra ID → Teams sync) before the configured wait ran out.
	ReasonTeamsNotReady Reason = "teams_not_ready"
	// ReasonPermissionDenied: the app registration lacks a permission or role (401/403).
	ReasonPermissionDenied Reason = "permission_denied"
	// ReasonRejected: Microsoft rejected a call for a reason not listed above;
	// the message carries Microsoft's error code.
	ReasonRejected Reason = "rejected"
	// ReasonRetriesExhausted: a transient failure (throttling, 5xx, replication
	// lag) persisted past the configured number of attempts.
	ReasonRetriesExhausted Reason = "retries_exhausted"

	// Deprovisioning.

	// ReasonNotOwned: the account to remove was not created by raprov (no
	// ownership mark), was created for another request than the target, or
	// is synchronised from on-premises; nothing was changed.
	ReasonNotOwned Reason = "not_owned"
	// ReasonAccountNotFound: no account has the userPrincipalName of a
	// deprovision request that names no target request.
	ReasonAccountNotFound Reason = "account_not_found"
	// ReasonNumberUnassignmentFailed: Teams accepted the unassignment of the
	// account's number but its asynchronous operation ended in failure.
	ReasonNumberUnassignmentFailed Reason = "number_unassignment_failed"
)

// Reasons lists every reason code, in documentation order.
var Reasons = []Reason{
	ReasonInvalidRequest, ReasonDomainNotVerified, ReasonUPNConflict, ReasonNoLicense,
	ReasonNumberNotFound, ReasonNumberInUse, ReasonNumberNotAssignable, ReasonNumberCountryMismatch,
	ReasonNumberAssignmentFailed, ReasonAssociationFailed, ReasonRequestConflict, ReasonTeamsNotReady,
	ReasonPermissionDenied, ReasonRejected, ReasonRetriesExhausted,
	ReasonNotOwned, ReasonAccountNotFound, ReasonNumberUnassignmentFailed,
}

// Valid reports whether r is one of the declared reason codes.
func (r Reason) Valid() bool {
	for _, k := range Reasons {
		if k == r {
			return true
		}
	}
	return false
}
