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

// Steps lists the steps in chain order.
var Steps = []string{
	StepIntake, StepCheckLicense, StepCreateAccount, StepAssignLicense,
	StepAssignNumber, StepAssociate, StepComplete,
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
	{TypeProvisioningCompleted, "", []string{StepComplete}},
	{TypeProvisioningFailed, StepComplete, []string{
		StepIntake, StepCheckLicense, StepCreateAccount, StepAssignLicense,
		StepAssignNumber, StepAssociate, StepComplete,
	}},
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
