package events

import "strings"

// Steps of the provisioning chain. An event's source is "raprov/" + step.
const (
	StepIntake        = "intake"
	StepCheckLicense  = "check-license"
	StepCreateAccount = "create-account"
	StepAssignLicense = "assign-license"
	StepAssignNumber  = "assign-number"
	StepAssociate     = "associate"
	StepComplete      = "complete"
)

// Steps of the deprovisioning chain, between intake and complete.
const (
	StepUnassociate    = "unassociate"
	StepUnassignNumber = "unassign-number"
	StepRemoveLicense  = "remove-license"
	StepRemoveAccount  = "remove-account"
)

// Steps lists the provisioning chain's steps in chain order.
var Steps = []string{
	StepIntake, StepCheckLicense, StepCreateAccount, StepAssignLicense,
	StepAssignNumber, StepAssociate, StepComplete,
}

// DeprovisionSteps lists the deprovisioning chain's steps in chain order:
// intake and complete are shared with provisioning.
var DeprovisionSteps = []string{
	StepIntake, StepUnassociate, StepUnassignNumber, StepRemoveLicense,
	StepRemoveAccount, StepComplete,
}

// AllSteps lists every step once: each has its own queue and function.
// The provisioning steps come first, then the deprovisioning ones, then
// complete.
var AllSteps = []string{
	StepIntake, StepCheckLicense, StepCreateAccount, StepAssignLicense,
	StepAssignNumber, StepAssociate,
	StepUnassociate, StepUnassignNumber, StepRemoveLicense, StepRemoveAccount,
	StepComplete,
}

// ChainOf returns the steps of the chain a request of action runs through:
// DeprovisionSteps for ActionDeprovision, otherwise Steps.
func ChainOf(action string) []string {
	if action == ActionDeprovision {
		return DeprovisionSteps
	}
	return Steps
}

// Results is the destination of the final outcome that the complete step
// publishes (see Destination). It is not a step.
const Results = "results"

const sourcePrefix = "raprov/"

// Source returns the CloudEvents source of events emitted by step: "raprov/<step>".
func Source(step string) string { return sourcePrefix + step }

// StepOf returns the step named by a raprov source ("raprov/intake" →
// "intake"), or "" when source is not of that form.
func StepOf(source string) string {
	step, ok := strings.CutPrefix(source, sourcePrefix)
	if !ok {
		return ""
	}
	return step
}

// Event types. A breaking change to an event's data gets a new version
// suffix; decoders reject versions they do not know (see Decode).
const (
	TypeProvisioningRequested   = "raprov.provisioning.requested.v1"
	TypeProvisioningAccepted    = "raprov.provisioning.accepted.v1"
	TypeLicenseAvailable        = "raprov.license.available.v1"
	TypeAccountCreated          = "raprov.account.created.v1"
	TypeLicenseAssigned         = "raprov.license.assigned.v1"
	TypeNumberAssignmentPending = "raprov.number.assignmentPending.v1"
	TypeNumberAssigned          = "raprov.number.assigned.v1"
	TypeAccountAssociated       = "raprov.account.associated.v1"
	TypeProvisioningCompleted   = "raprov.provisioning.completed.v1"
	TypeProvisioningFailed      = "raprov.provisioning.failed.v1"

	// Deprovisioning. Its requests end with the same two terminal types
	// as provisioning (their request's action says which it was), so
	// complete, the ledger, callbacks and results consumers see one
	// lifecycle per request id.
	TypeDeprovisionRequested      = "raprov.deprovision.requested.v1"
	TypeDeprovisionAccepted       = "raprov.deprovision.accepted.v1"
	TypeAccountUnassociated       = "raprov.account.unassociated.v1"
	TypeNumberUnassignmentPending = "raprov.number.unassignmentPending.v1"
	TypeNumberUnassigned          = "raprov.number.unassigned.v1"
	TypeLicenseRemoved            = "raprov.license.removed.v1"
	TypeAccountRemoved            = "raprov.account.removed.v1"
)

// A Route states who emits an event type and which step consumes it.
type Route struct {
	Type     string
	Consumer string   // step whose queue receives the type; "" when only Results does
	Emitters []string // steps that emit the type
}

// Routes is the routing table of the chain (DESIGN §2), in chain order. It
// is data so that transports can create one queue per consumer and route by
// it; docs/events.md renders the same table.
var Routes = []Route{
	{TypeProvisioningRequested, StepIntake, nil}, // submitted by intake's HTTP front, the CLI or a bulk file
	{TypeProvisioningAccepted, StepCheckLicense, []string{StepIntake, StepCheckLicense, StepAssignLicense}},
	{TypeLicenseAvailable, StepCreateAccount, []string{StepCheckLicense, StepCreateAccount}},
	{TypeAccountCreated, StepAssignLicense, []string{StepCreateAccount}},
	{TypeLicenseAssigned, StepAssignNumber, []string{StepAssignLicense}},
	{TypeNumberAssignmentPending, StepAssignNumber, []string{StepAssignNumber}},
	{TypeNumberAssigned, StepAssociate, []string{StepAssignNumber, StepAssociate}},
	{TypeAccountAssociated, StepComplete, []string{StepAssociate}},
	{TypeDeprovisionRequested, StepIntake, nil}, // submitted by raprov deprovision, DELETE /requests/{id} or a bulk row
	{TypeDeprovisionAccepted, StepUnassociate, []string{StepIntake}},
	{TypeAccountUnassociated, StepUnassignNumber, []string{StepUnassociate}},
	{TypeNumberUnassignmentPending, StepUnassignNumber, []string{StepUnassignNumber}},
	{TypeNumberUnassigned, StepRemoveLicense, []string{StepUnassignNumber}},
	{TypeLicenseRemoved, StepRemoveAccount, []string{StepRemoveLicense}},
	{TypeAccountRemoved, StepComplete, []string{StepRemoveAccount}},
	{TypeProvisioningCompleted, "", []string{StepComplete}},
	{TypeProvisioningFailed, StepComplete, []string{
		StepIntake, StepCheckLicense, StepCreateAccount, StepAssignLicense,
		StepAssignNumber, StepAssociate,
		StepUnassociate, StepUnassignNumber, StepRemoveLicense, StepRemoveAccount,
		StepComplete,
	}},
}

// RequestedType returns the type a door submits r as: deprovision.requested
// for a deprovision request, provisioning.requested otherwise.
func RequestedType(r Request) string {
	if r.Deprovision() {
		return TypeDeprovisionRequested
	}
	return TypeProvisioningRequested
}

// Submitted reports whether typ is a type that doors submit to intake
// (provisioning.requested, deprovision.requested): only those may arrive
// without a request id.
func Submitted(typ string) bool {
	return typ == TypeProvisioningRequested || typ == TypeDeprovisionRequested
}

// Types lists every event type, in chain order.
var Types = func() []string {
	t := make([]string, len(Routes))
	for i, r := range Routes {
		t[i] = r.Type
	}
	return t
}()

// Known reports whether typ is one of the declared event types (name and
// version).
func Known(typ string) bool {
	_, ok := route(typ)
	return ok
}

// ConsumerOf returns the step that consumes events of type typ, or "" when
// no step does (provisioning.completed, unknown types).
func ConsumerOf(typ string) string {
	r, _ := route(typ)
	return r.Consumer
}

// Destination returns where a step's output event is published: Results for
// everything the complete step emits (its input was already terminal),
// otherwise the consumer of the event's type. A retry keeps the source of
// the event it repeats, so a retried input goes back to its own consumer.
func Destination(e Event) string {
	if e.Source == Source(StepComplete) {
		return Results
	}
	if c := ConsumerOf(e.Type); c != "" {
		return c
	}
	return Results
}

func route(typ string) (Route, bool) {
	for _, r := range Routes {
		if r.Type == typ {
			return r, true
		}
	}
	return Route{}, false
}
