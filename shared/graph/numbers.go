package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// Teams telephone number management (Graph v1.0,
// microsoft.graph.teamsAdministration) has no request builders in
// msgraph-sdk-go v1.89.0. The calls below are kiota RequestInformation sent
// through the same request adapter as the typed calls, so they share
// authentication, retries, the budget and the error mapping. Bodies are the
// raw JSON bytes (SendPrimitive "[]byte") decoded with encoding/json into
// the small types below, property names as in the CSDL: a hand-written kiota
// Parsable per type would add a page of boilerplate each for no gain.
const numbersRoot = "{+baseurl}/admin/teams/telephoneNumberManagement"

// numberAssignment is microsoft.graph.teamsAdministration.numberAssignment,
// the properties raprov reads.
type numberAssignment struct {
	TelephoneNumber    string   `json:"telephoneNumber"`
	NumberType         string   `json:"numberType"`
	ActivationState    string   `json:"activationState"`
	AssignmentStatus   string   `json:"assignmentStatus"`
	AssignmentTargetID string   `json:"assignmentTargetId"`
	Capabilities       []string `json:"capabilities"`
	IsoCountryCode     string   `json:"isoCountryCode"`
	City               string   `json:"city"`
}

// operation is microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperation.
type operation struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Numbers []struct {
		ResourceLocation string `json:"resourceLocation"`
		Status           string `json:"status"`
		StatusDetail     string `json:"statusDetail"`
	} `json:"numbers"`
}

// Lookup returns the tenant's record of the number, or nil when the number
// is not in the inventory.
func (c *Client) Lookup(ctx context.Context, e164 string) (*steps.NumberAssignment, error) {
	if e164 == "" {
		return nil, apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: look up number: empty number")
	}
	found, err := c.numberAssignments(ctx, "look up number", "telephoneNumber eq "+quote(e164))
	if err != nil {
		return nil, err
	}
	for _, n := range found {
		if n.TelephoneNumber == e164 {
			p := n.port()
			return &p, nil
		}
	}
	return nil, nil
}

// operationID matches the id in the Location header of assignNumber and
// unassignNumber:
// …/telephoneNumberManagement/operations('<id>') (or …/operations/<id>).
var operationID = regexp.MustCompile(`/operations(?:\('([^']+)'\)|/([^/?#]+))`)

// Assign starts assigning the number (POST …/numberAssignments/assignNumber,
// answered 202 with an empty body) and returns the operation id from the
// response's Location header.
func (c *Client) Assign(ctx context.Context, req steps.AssignNumberRequest) (string, error) {
	if req.TelephoneNumber == "" || req.AssignmentTargetID == "" || req.NumberType == "" {
		return "", apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: assign number: telephone number, target and number type are required")
	}
	return c.startNumberAction(ctx, "assign number", "assignNumber", struct {
		TelephoneNumber    string `json:"telephoneNumber"`
		AssignmentTargetID string `json:"assignmentTargetId"`
		NumberType         string `json:"numberType"`
	}{req.TelephoneNumber, req.AssignmentTargetID, req.NumberType})
}

// startNumberAction posts the numberAssignments action (assignNumber,
// unassignNumber) with body, answered 202 with an empty body, and returns
// the operation id from the response's Location header.
func (c *Client) startNumberAction(ctx context.Context, op, action string, body any) (string, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return "", &apperr.Error{Code: apperr.Internal, Message: "graph: " + op + ": encode body", Err: err}
	}
	ri := c.request(abs.POST, numbersRoot+"/numberAssignments/"+action)
	ri.SetStreamContentAndContentType(payload, "application/json")
	headers := khttp.NewHeadersInspectionOptions()
	headers.InspectResponseHeaders = true
	ri.AddRequestOptions([]abs.RequestOption{headers})

	ctx, rec := withRecorder(ctx)
	if err := c.adapter.SendNoContent(ctx, ri, errorMappings); err != nil {
		return "", mapError(op, err, rec)
	}
	var location string
	if v := headers.GetResponseHeaders().Get("Location"); len(v) > 0 {
		location = v[0]
	}
	if p, err := url.PathUnescape(location); err == nil {
		location = p
	}
	m := operationID.FindStringSubmatch(location)
	if m == nil {
		return "", &apperr.Error{Code: apperr.Internal, Message: fmt.Sprintf("graph: %s: no operation in Location %q", op, location)}
	}
	if m[1] != "" {
		return m[1], nil
	}
	return m[2], nil
}

// Operation returns the state of a telephone number operation.
func (c *Client) Operation(ctx context.Context, id string) (steps.Operation, error) {
	if id == "" {
		return steps.Operation{}, apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: get operation: empty id")
	}
	ri := c.request(abs.GET, numbersRoot+"/operations/{id}")
	ri.PathParameters["id"] = id
	// The entity itself, or wrapped in "value" as Learn's example of this
	// request shows it: accept both.
	var body struct {
		operation
		Value *operation `json:"value"`
	}
	if err := c.sendJSON(ctx, "get number operation", ri, &body); err != nil {
		return steps.Operation{}, err
	}
	op := body.operation
	if body.Value != nil {
		op = *body.Value
	}
	status, ok := operationStatus(op.Status)
	if !ok {
		// Polling an unreadable status would wait for hours on nothing.
		return steps.Operation{}, apperr.New(apperr.Internal, "",
			"graph: get number operation %s: unknown status %q", id, op.Status)
	}
	out := steps.Operation{ID: op.ID, Status: status}
	if out.ID == "" {
		out.ID = id
	}
	for _, n := range op.Numbers {
		out.Numbers = append(out.Numbers, steps.OperationNumber(n))
	}
	return out, nil
}

// operationStatus returns the canonical spelling of a
// longRunningOperationStatus the steps know, and false for anything else
// (empty, unknownFutureValue, a new member).
func operationStatus(s string) (string, bool) {
	for _, known := range []string{steps.OperationNotStarted, steps.OperationRunning,
		steps.OperationSucceeded, steps.OperationFailed, steps.OperationSkipped} {
		if strings.EqualFold(s, known) {
			return known, true
		}
	}
	return "", false
}

func (c *Client) request(method abs.HttpMethod, template string) *abs.RequestInformation {
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(method, template, map[string]string{})
	ri.Headers.TryAdd("Accept", "application/json")
	return ri
}

// sendJSON sends ri and decodes the JSON response body into v.
func (c *Client) sendJSON(ctx context.Context, op string, ri *abs.RequestInformation, v any) error {
	ctx, rec := withRecorder(ctx)
	res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMappings)
	if err != nil {
		return mapError(op, err, rec)
	}
	body, _ := res.([]byte)
	if len(body) == 0 {
		return &apperr.Error{Code: apperr.Internal, Message: "graph: " + op + ": empty response"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &apperr.Error{Code: apperr.Internal, Message: "graph: " + op + ": decode response", Err: err}
	}
	return nil
}
