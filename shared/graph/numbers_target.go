package graph

import (
	"context"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// AssignedTo returns the numbers assigned to the user or resource account
// objectID (GET …/numberAssignments?$filter=assignmentTargetId eq '…'; every
// property but id and city can be filtered on).
func (c *Client) AssignedTo(ctx context.Context, objectID string) ([]steps.NumberAssignment, error) {
	if objectID == "" {
		return nil, apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: numbers of an account: empty object id")
	}
	found, err := c.numberAssignments(ctx, "numbers of an account", "assignmentTargetId eq "+quote(objectID))
	if err != nil {
		return nil, err
	}
	held := make([]steps.NumberAssignment, 0, len(found))
	for _, n := range found {
		if strings.EqualFold(n.AssignmentTargetID, objectID) {
			held = append(held, n.port())
		}
	}
	return held, nil
}

// numberAssignments lists the number assignments matching an OData filter
// (one page: raprov's filters match one number, or the few an account holds).
func (c *Client) numberAssignments(ctx context.Context, op, filter string) ([]numberAssignment, error) {
	ri := c.request(abs.GET, numbersRoot+"/numberAssignments{?%24filter}")
	ri.QueryParameters["%24filter"] = filter
	var page struct {
		Value []numberAssignment `json:"value"`
	}
	if err := c.sendJSON(ctx, op, ri, &page); err != nil {
		return nil, err
	}
	return page.Value, nil
}

// port converts a number assignment to the port's type.
func (n numberAssignment) port() steps.NumberAssignment {
	return steps.NumberAssignment{
		TelephoneNumber:    n.TelephoneNumber,
		NumberType:         n.NumberType,
		ActivationState:    n.ActivationState,
		AssignmentStatus:   n.AssignmentStatus,
		AssignmentTargetID: n.AssignmentTargetID,
		Capabilities:       n.Capabilities,
		IsoCountryCode:     n.IsoCountryCode,
		City:               n.City,
	}
}
