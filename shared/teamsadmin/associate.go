package teamsadmin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// Configuration types of an association.
const (
	ConfigurationAutoAttendant = "AutoAttendant"
	ConfigurationCallQueue     = "CallQueue"
)

// associateRequest is the body of New-CsOnlineApplicationInstanceAssociation
// (ConfigurationId, ConfigurationType, EndpointsId in the module's generated
// code; the camelCase JSON names are inferred).
type associateRequest struct {
	ConfigurationID   string   `json:"configurationId"`
	ConfigurationType string   `json:"configurationType"`
	EndpointsID       []string `json:"endpointsId"`
}

// associationJSON is the association of one instance as read back. Its
// shape is inferred; decoding is case-insensitive.
type associationJSON struct {
	ConfigurationID   string `json:"configurationId"`
	ConfigurationType string `json:"configurationType"`
}

// Associate links the application instances objectIDs to the auto attendant
// or call queue configurationID; configurationType is AutoAttendant or
// CallQueue (case-insensitive).
//
// Idempotency: each instance's current association is read first (GET
// GetAssociationPath). Instances already associated with configurationID are
// skipped, so a repeated call sends nothing; only the others are posted. An
// instance associated with another configuration is a Conflict. Errors carry
// reason association_failed: NotFound (unknown configuration or instance),
// Invalid (wrong configuration type, not an instance) or Conflict.
func (c *Client) Associate(ctx context.Context, configurationID, configurationType string, objectIDs []string) error {
	const op = "associate"
	configurationID = strings.TrimSpace(configurationID)
	if configurationID == "" {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "teams admin %s: empty configuration id", op)
	}
	typ, ok := canonicalType(configurationType)
	if !ok {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest,
			"teams admin %s: configuration type %q is neither %s nor %s", op, configurationType, ConfigurationAutoAttendant, ConfigurationCallQueue)
	}
	if len(objectIDs) == 0 {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "teams admin %s: no application instances", op)
	}

	var pending []string
	seen := make(map[string]bool, len(objectIDs))
	for _, id := range objectIDs {
		if err := checkGUID(op, "object id", id); err != nil {
			return err
		}
		key := strings.ToLower(id)
		if seen[key] {
			continue
		}
		seen[key] = true
		current, err := c.association(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case current == nil || current.ConfigurationID == "":
			pending = append(pending, id)
		case strings.EqualFold(current.ConfigurationID, configurationID):
			// Already done: nothing to send for this instance.
		default:
			return apperr.New(apperr.Conflict, events.ReasonAssociationFailed,
				"teams admin %s: %s is associated with %s %s", op, id, current.ConfigurationType, current.ConfigurationID)
		}
	}
	if len(pending) == 0 {
		return nil
	}

	failed := events.ReasonAssociationFailed
	_, err := c.do(ctx, call{
		op: op, method: http.MethodPost, path: c.cfg.AssociatePath,
		body: associateRequest{ConfigurationID: configurationID, ConfigurationType: typ, EndpointsID: pending},
		reasons: map[int]events.Reason{
			http.StatusBadRequest: failed, http.StatusNotFound: failed,
			http.StatusConflict: failed, http.StatusUnprocessableEntity: failed,
		},
	}, false)
	if err != nil {
		return err
	}
	c.log.InfoContext(ctx, "teams application instances associated",
		"configurationId", configurationID, "configurationType", typ, "objectIds", pending)
	return nil
}

// association returns the current association of one instance, or nil when
// it has none (HTTP 404).
func (c *Client) association(ctx context.Context, objectID string) (*associationJSON, error) {
	res, err := c.do(ctx, call{op: "get association", method: http.MethodGet, path: expand(c.cfg.GetAssociationPath, objectID)}, true)
	if err != nil {
		return nil, err
	}
	if res.status == http.StatusNotFound || len(res.body) == 0 {
		return nil, nil
	}
	var a associationJSON
	if err := json.Unmarshal(res.body, &a); err != nil {
		return nil, &apperr.Error{Code: apperr.Internal, Message: "teams admin get association: decode response", Err: err}
	}
	return &a, nil
}

func canonicalType(t string) (string, bool) {
	switch {
	case strings.EqualFold(t, ConfigurationAutoAttendant):
		return ConfigurationAutoAttendant, true
	case strings.EqualFold(t, ConfigurationCallQueue):
		return ConfigurationCallQueue, true
	}
	return "", false
}
