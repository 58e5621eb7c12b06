package teamsadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// instanceJSON is an application instance as the back end returns it.
// Decoding is case-insensitive, so PascalCase answers parse too.
type instanceJSON struct {
	ObjectID          string `json:"objectId"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	ApplicationID     string `json:"applicationId"`
	PhoneNumber       string `json:"phoneNumber"`
}

func (i instanceJSON) port() *steps.ApplicationInstance {
	return &steps.ApplicationInstance{
		ObjectID:          i.ObjectID,
		UserPrincipalName: i.UserPrincipalName,
		DisplayName:       i.DisplayName,
		ApplicationID:     i.ApplicationID,
	}
}

// pageJSON is one page of the list endpoint.
type pageJSON struct {
	ApplicationInstances []instanceJSON `json:"applicationInstances"`
	SkipToken            string         `json:"skipToken"`
}

// maxPages stops a list walk whose skip tokens never end.
const maxPages = 10000

// ApplicationInstance returns the application instance of the user with the
// given object id, or nil when the back end does not know the user as one
// (HTTP 404). With Config.Lookup "list" it pages through ListPath instead
// of calling GetPath. It only reads, so it is safe to repeat.
func (c *Client) ApplicationInstance(ctx context.Context, objectID string) (*steps.ApplicationInstance, error) {
	if err := checkGUID("get instance", "object id", objectID); err != nil {
		return nil, err
	}
	if c.cfg.Lookup == LookupList {
		return c.findInList(ctx, objectID)
	}
	res, err := c.do(ctx, call{op: "get instance", method: http.MethodGet, path: expand(c.cfg.GetPath, objectID)}, true)
	if err != nil {
		return nil, err
	}
	if res.status == http.StatusNotFound {
		return nil, nil
	}
	var inst instanceJSON
	if err := json.Unmarshal(res.body, &inst); err != nil {
		return nil, &apperr.Error{Code: apperr.Internal, Message: "teams admin get instance: decode response", Err: err}
	}
	if inst.ObjectID == "" {
		inst.ObjectID = objectID
	}
	if !strings.EqualFold(inst.ObjectID, objectID) {
		return nil, apperr.New(apperr.Internal, "", "teams admin get instance: asked for %s, got %s", objectID, inst.ObjectID)
	}
	return inst.port(), nil
}

// List returns every application instance of the tenant, following skip
// tokens. It only reads.
func (c *Client) List(ctx context.Context) ([]steps.ApplicationInstance, error) {
	var all []steps.ApplicationInstance
	err := c.walk(ctx, func(i instanceJSON) bool {
		all = append(all, *i.port())
		return true
	})
	return all, err
}

func (c *Client) findInList(ctx context.Context, objectID string) (*steps.ApplicationInstance, error) {
	var found *steps.ApplicationInstance
	err := c.walk(ctx, func(i instanceJSON) bool {
		if strings.EqualFold(i.ObjectID, objectID) {
			found = i.port()
			return false
		}
		return true
	})
	return found, err
}

// walk calls yield for each listed instance until it returns false or the
// pages end.
func (c *Client) walk(ctx context.Context, yield func(instanceJSON) bool) error {
	skip := ""
	for range maxPages {
		q := url.Values{"pageSize": {strconv.Itoa(c.cfg.PageSize)}}
		if skip != "" {
			q.Set("skipToken", skip)
		}
		res, err := c.do(ctx, call{op: "list instances", method: http.MethodGet, path: c.cfg.ListPath, query: q}, false)
		if err != nil {
			return err
		}
		var page pageJSON
		if err := json.Unmarshal(res.body, &page); err != nil {
			return &apperr.Error{Code: apperr.Internal, Message: "teams admin list instances: decode response", Err: err}
		}
		for _, i := range page.ApplicationInstances {
			if !yield(i) {
				return nil
			}
		}
		if page.SkipToken == "" {
			return nil
		}
		if page.SkipToken == skip {
			return apperr.New(apperr.Internal, "", "teams admin list instances: skip token repeats")
		}
		skip = page.SkipToken
	}
	return apperr.New(apperr.Internal, "", "teams admin list instances: more than %d pages", maxPages)
}

// Bind makes the existing user objectID an application instance of
// applicationID, as Sync-CsOnlineApplicationInstance -ObjectId
// -ApplicationId does: BindMethod BindPath (the object id in the path) with
// the application id as the query parameter BindAppIDParam and no body.
// Whatever the back end answers, the instance is then read back and its
// applicationId checked, because a module release once created instances
// without one and because from the module's 7.x releases the answer is only
// true or false.
//
// Idempotency: binding again with the same application id succeeds (the
// read-back shows it), so a re-delivered event converges. Errors:
//   - Conflict, reason upn_conflict: the user is already an instance of
//     another application (HTTP 409, or the read-back after any answer or
//     refusal shows another id);
//   - NotFound: the back end does not know the user yet (HTTP 404: a new
//     user takes minutes up to 24 hours to reach Teams), or the instance is
//     not readable yet after binding;
//   - Unavailable: the instance has an empty applicationId; binding again
//     repairs it;
//   - Invalid, reason rejected: the back end refused the request (HTTP 400
//     and other 4xx, or the answer false) and the read-back does not
//     explain it.
func (c *Client) Bind(ctx context.Context, objectID, applicationID string) error {
	if err := checkGUID("bind", "object id", objectID); err != nil {
		return err
	}
	if err := checkGUID("bind", "application id", applicationID); err != nil {
		return err
	}
	res, err := c.do(ctx, call{
		op: "bind", method: c.cfg.BindMethod, path: expand(c.cfg.BindPath, objectID),
		query:   url.Values{c.cfg.BindAppIDParam: {applicationID}},
		reasons: map[int]events.Reason{http.StatusConflict: events.ReasonUPNConflict},
	}, false)
	if err != nil {
		// What the back end answers a re-mapping with is not documented
		// (Learn shows only the cmdlet's message): a refusal or failure
		// may be explained by the instance as it stands.
		if code := apperr.CodeOf(err); code == apperr.Invalid || code == apperr.Unavailable {
			if inst, rerr := c.ApplicationInstance(ctx, objectID); rerr == nil && inst != nil && inst.ApplicationID != "" {
				return c.checkBound(ctx, inst, objectID, applicationID)
			}
		}
		return err
	}
	refused := answeredFalse(res.body)

	inst, err := c.ApplicationInstance(ctx, objectID)
	if err != nil {
		return err
	}
	if refused && (inst == nil || inst.ApplicationID == "") {
		return apperr.New(apperr.Invalid, events.ReasonRejected,
			"teams admin bind: %s %s: the back end answered false", c.cfg.BindMethod, expand(c.cfg.BindPath, objectID))
	}
	return c.checkBound(ctx, inst, objectID, applicationID)
}

// checkBound checks the instance read back after a bind.
func (c *Client) checkBound(ctx context.Context, inst *steps.ApplicationInstance, objectID, applicationID string) error {
	switch {
	case inst == nil:
		return apperr.New(apperr.NotFound, "", "teams admin bind: %s bound but not readable yet", objectID)
	case inst.ApplicationID == "":
		return apperr.New(apperr.Unavailable, "", "teams admin bind: %s bound without an applicationId", objectID)
	case !strings.EqualFold(inst.ApplicationID, applicationID):
		return apperr.New(apperr.Conflict, events.ReasonUPNConflict,
			"teams admin bind: %s is an instance of %s, not %s", objectID, inst.ApplicationID, applicationID)
	}
	c.log.InfoContext(ctx, "teams application instance bound", "objectId", objectID, "applicationId", applicationID)
	return nil
}

// answeredFalse reports whether a bind's answer is the JSON literal false
// (the module's 7.x releases treat it as a boolean). Anything else — true,
// no body, the instance (module 5.x), another shape — leaves the verdict to
// the read-back.
func answeredFalse(body []byte) bool {
	var ok bool
	return json.Unmarshal(bytes.TrimSpace(body), &ok) == nil && !ok
}
