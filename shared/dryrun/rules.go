package dryrun

import (
	"fmt"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// ownerMarkPrefix starts every ownership mark (steps.OwnerMark("")).
var ownerMarkPrefix = steps.OwnerMark("")

// numberFinding is what the inventory says of a requested number: the
// table's words for it and, when the request cannot get it, the failure.
type numberFinding struct {
	state  string
	reason events.Reason
	detail string
}

// checkNumber judges the inventory record n of req's number for the
// account holder ("" when none holds it for this request) by the chain's
// own rule (steps.CheckNumber), in the table's words.
func checkNumber(n *steps.NumberAssignment, req events.Request, holder string) numberFinding {
	err := steps.CheckNumber(n, req, holder)
	if err == nil {
		if n.AssignmentTargetID != "" {
			return numberFinding{state: "ours"}
		}
		return numberFinding{state: "free"}
	}
	f := numberFinding{reason: events.ReasonRejected, detail: err.Error()}
	if e, ok := apperr.As(err); ok {
		f.reason, f.detail = e.Reason, e.Message
	}
	switch f.reason {
	case events.ReasonNumberNotFound:
		f.state = "not found"
	case events.ReasonNumberInUse:
		f.state = fmt.Sprintf("in use by %s (%s)", n.AssignmentTargetID, n.AssignmentStatus)
	case events.ReasonNumberCountryMismatch:
		f.state = "wrong country (" + strings.ToUpper(n.IsoCountryCode) + ")"
	case events.ReasonNumberNotAssignable:
		if !n.HasCapability(steps.CapabilityVoiceApplication) {
			f.state = "wrong capability (" + strings.Join(n.Capabilities, ", ") + ")"
		} else {
			f.state = "wrong type (" + n.NumberType + ")"
		}
	default:
		f.state = "refused"
	}
	return f
}
