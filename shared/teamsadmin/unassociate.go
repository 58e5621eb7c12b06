package teamsadmin

import (
	"context"
	"net/http"

	"github.com/raprov/raprov/shared/steps"
)

var _ steps.Unassociator = (*Client)(nil)

// Unassociate removes the association of the application instance objectID
// with its auto attendant or call queue, as
// Remove-CsOnlineApplicationInstanceAssociation does: one DELETE per
// instance, at RemoveAssociationPath (inferred; GetAssociationPath when
// unset).
//
// Idempotency: the association is read first (GET GetAssociationPath). An
// instance without one, or a user that is no instance at all (404 either
// way), needs nothing, so a repeated call sends no DELETE; a DELETE answered
// 404 (removed meanwhile) is success too. Reading first also keeps raprov
// off the back end's unknown answer to deleting what is not there. Errors
// map as every call's (package documentation): Forbidden
// (permission_denied), Throttled, Unavailable, Invalid (rejected) for
// another 4xx, Conflict for 409.
func (c *Client) Unassociate(ctx context.Context, objectID string) error {
	const op = "unassociate"
	if err := checkGUID(op, "object id", objectID); err != nil {
		return err
	}
	current, err := c.association(ctx, objectID)
	if err != nil {
		return err
	}
	if current == nil || current.ConfigurationID == "" {
		return nil
	}
	res, err := c.do(ctx, call{op: op, method: http.MethodDelete, path: expand(c.cfg.removeAssociationPath(), objectID)}, true)
	if err != nil {
		return err
	}
	if res.status == http.StatusNotFound {
		return nil
	}
	c.log.InfoContext(ctx, "teams application instance unassociated", "objectId", objectID,
		"configurationId", current.ConfigurationID, "configurationType", current.ConfigurationType)
	return nil
}
