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

// maxInventoryPages stops an inventory walk whose next links never end.
const maxInventoryPages = 1000

// Inventory returns every number of the tenant's inventory, following
// @odata.nextLink (GET …/numberAssignments, pages of up to 1,000).
func (c *Client) Inventory(ctx context.Context) ([]steps.NumberAssignment, error) {
	ri := c.request(abs.GET, numbersRoot+"/numberAssignments{?%24top}")
	ri.QueryParameters["%24top"] = "1000"
	var all []steps.NumberAssignment
	for range maxInventoryPages {
		var page struct {
			Value    []numberAssignment `json:"value"`
			NextLink string             `json:"@odata.nextLink"`
		}
		if err := c.sendJSON(ctx, "read the number inventory", ri, &page); err != nil {
			return nil, err
		}
		for _, n := range page.Value {
			all = append(all, n.port())
		}
		if page.NextLink == "" {
			return all, nil
		}
		ri = c.request(abs.GET, numbersRoot+"/numberAssignments")
		ri.PathParameters["request-raw-url"] = page.NextLink
	}
	return nil, apperr.New(apperr.Internal, "", "graph: read the number inventory: more than %d pages", maxInventoryPages)
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
