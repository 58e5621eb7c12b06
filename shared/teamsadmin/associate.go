package teamsadmin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// Configuration types of an association.
const (
	ConfigurationAutoAttendant = "AutoAttendant"
	ConfigurationCallQueue     = "CallQueue"
)

// associateRequest is the body of New-CsOnlineApplicationInstanceAssociation:
// ICreateApplicationInstanceAssociationsRequest in the module's generated
// code has ConfigurationId, ConfigurationType, EndpointsId (the instances'
// object ids) and, from the 6.x releases, CallPriority (1–5, default 3).
// They are sent spelled as the module names them; the back end's JSON
// casing is not public.
type associateRequest struct {
	ConfigurationID   string   `json:"ConfigurationId"`
	ConfigurationType string   `json:"ConfigurationType"`
	EndpointsID       []string `json:"EndpointsId"`
	CallPriority      int      `json:"CallPriority,omitempty"`
}

// associationJSON is the association of one instance as read back
// (IGetApplicationInstanceAssociationResponse: Id, ConfigurationType,
// ConfigurationId, CallPriority). Decoding is case-insensitive.
type associationJSON struct {
	ID                string `json:"id"`
	ConfigurationID   string `json:"configurationId"`
	ConfigurationType string `json:"configurationType"`
	CallPriority      int    `json:"callPriority"`
}

// Associate links the application instances a.ObjectIDs to the auto
// attendant or call queue a.ConfigurationID; a.ConfigurationType is
// AutoAttendant or CallQueue (case-insensitive).
//
// Idempotency: each instance's current association is read first (GET
// GetAssociationPath). Instances already associated with the configuration
// are skipped, so a repeated call sends nothing; only the others are
// posted. An instance associated with another configuration is a Conflict.
// With a.Created the caller vouches that no instance can be associated with
// another configuration, so the association is posted at once; only if the
// post fails (refused, or a transient failure) are the instances read, and
// instances already associated with this configuration (a repeated call)
// make it a success.
// Errors carry reason association_failed — NotFound (unknown
// configuration), Invalid (wrong configuration type, not an instance) or
// Conflict — except one: a 404 while an instance in a.ObjectIDs is not
// readable as an application instance is NotFound without a reason, since
// Teams may not have learned of a new account yet (minutes up to 24 hours)
// and the caller may wait for it.
func (c *Client) Associate(ctx context.Context, a steps.Association) error {
	const op = "associate"
	configurationID := strings.TrimSpace(a.ConfigurationID)
	if configurationID == "" {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "teams admin %s: empty configuration id", op)
	}
	typ, ok := canonicalType(a.ConfigurationType)
	if !ok {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest,
			"teams admin %s: configuration type %q is neither %s nor %s", op, a.ConfigurationType, ConfigurationAutoAttendant, ConfigurationCallQueue)
	}
	if len(a.ObjectIDs) == 0 {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "teams admin %s: no application instances", op)
	}
	var ids []string
	seen := make(map[string]bool, len(a.ObjectIDs))
	for _, id := range a.ObjectIDs {
		if err := checkGUID(op, "object id", id); err != nil {
			return err
		}
		if key := strings.ToLower(id); !seen[key] {
			seen[key] = true
			ids = append(ids, id)
		}
	}

	if a.Created {
		err := c.postAssociation(ctx, configurationID, typ, ids)
		if err == nil || apperr.CodeOf(err) == apperr.Forbidden {
			return err
		}
		// Refused, or failed: fine if an earlier call did it already,
		// whatever the back end answers a duplicate association with.
		pending, rerr := c.unassociated(ctx, configurationID, ids)
		switch {
		case rerr == nil && len(pending) == 0:
			return nil
		case rerr != nil && (apperr.IsTransient(rerr) || apperr.CodeOf(rerr) == apperr.Conflict):
			// Retry the read, or report the other configuration.
			return rerr
		}
		return err
	}

	pending, err := c.unassociated(ctx, configurationID, ids)
	if err != nil || len(pending) == 0 {
		return err
	}
	return c.postAssociation(ctx, configurationID, typ, pending)
}

// unassociated reads each instance's association and returns those without
// one; an instance associated with another configuration is a Conflict.
func (c *Client) unassociated(ctx context.Context, configurationID string, ids []string) ([]string, error) {
	var pending []string
	for _, id := range ids {
		current, err := c.association(ctx, id)
		if err != nil {
			return nil, err
		}
		switch {
		case current == nil || current.ConfigurationID == "":
			pending = append(pending, id)
		case strings.EqualFold(current.ConfigurationID, configurationID):
			// Already done: nothing to send for this instance.
		default:
			return nil, apperr.New(apperr.Conflict, events.ReasonAssociationFailed,
				"teams admin associate: %s is associated with %s %s", id, current.ConfigurationType, current.ConfigurationID)
		}
	}
	return pending, nil
}

// postAssociation sends one association request for ids.
func (c *Client) postAssociation(ctx context.Context, configurationID, typ string, ids []string) error {
	failed := events.ReasonAssociationFailed
	_, err := c.do(ctx, call{
		op: "associate", method: http.MethodPost, path: c.cfg.AssociatePath,
		body: associateRequest{ConfigurationID: configurationID, ConfigurationType: typ, EndpointsID: ids, CallPriority: c.cfg.CallPriority},
		reasons: map[int]events.Reason{
			http.StatusBadRequest: failed, http.StatusNotFound: failed,
			http.StatusConflict: failed, http.StatusUnprocessableEntity: failed,
		},
	}, false)
	if apperr.CodeOf(err) == apperr.NotFound {
		return c.explainNotFound(ctx, err, ids)
	}
	if err != nil {
		return err
	}
	c.log.InfoContext(ctx, "teams application instances associated",
		"configurationId", configurationID, "configurationType", typ, "objectIds", ids)
	return nil
}

// explainNotFound tells the two causes of an association's 404 apart: an
// instance Teams does not know (yet) — a new account takes minutes up to 24
// hours to reach Teams — or an unknown configuration. The first is NotFound
// without a reason, for the caller to wait on; the second keeps
// association_failed. If the instances cannot be read, the 404 stays as it
// was.
func (c *Client) explainNotFound(ctx context.Context, notFound error, ids []string) error {
	for _, id := range ids {
		inst, err := c.ApplicationInstance(ctx, id)
		if err != nil {
			return notFound
		}
		if inst == nil {
			return &apperr.Error{Code: apperr.NotFound,
				Message: "teams admin associate: " + id + " is not an application instance Teams knows (yet)", Err: notFound}
		}
	}
	return notFound
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
