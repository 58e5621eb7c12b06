package teamsadmin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// Read-only probes for `raprov doctor` (package shared/doctor): each sends
// one request, once (no retries: the doctor reports what the back end
// answered), and returns the HTTP status with what it could decode.

// AccessToken returns the token the client's calls carry (Config.Scope,
// from the app's credential or the signed-in admin's), so that the doctor
// can read the directory roles in it. It is a bearer credential: decode
// it, never print or log it. Errors are classified as every call's token
// errors are (Forbidden: refused; Unavailable: no answer), with the
// identity platform's reason (AADSTS code) when it gave one.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.cfg.Scope}})
	if err != nil {
		mapped := tokenError("token", err)
		if e, ok := apperr.As(mapped); ok {
			if reason := aadsts.FindString(err.Error()); reason != "" {
				e.Message += ": " + reason
			}
		}
		return "", mapped
	}
	return tok.Token, nil
}

// aadsts matches the identity platform's error code and first sentence,
// e.g. "AADSTS7000215: Invalid client secret provided." It never holds a
// secret.
var aadsts = regexp.MustCompile(`AADSTS\d+: [^.\n]{1,200}\.`)

// ListOne reads the first page of ListPath with pageSize 1. status is the
// HTTP status (0 when there was no answer; err then says why). A 200 is
// decoded into its instances (err set when it cannot be); any other status
// comes with the error the steps would see for it.
func (c *Client) ListOne(ctx context.Context) (int, []steps.ApplicationInstance, error) {
	cl := call{op: "list instances", method: http.MethodGet, path: c.cfg.ListPath, query: url.Values{"pageSize": {"1"}}}
	res, err := c.attempt(ctx, cl, nil)
	if err != nil {
		return 0, nil, err
	}
	if res.status != http.StatusOK {
		return res.status, nil, c.statusError(cl, res)
	}
	var page pageJSON
	if err := json.Unmarshal(res.body, &page); err != nil {
		return res.status, nil, &apperr.Error{Code: apperr.Internal, Message: "teams admin list instances: decode response", Err: err}
	}
	out := make([]steps.ApplicationInstance, 0, len(page.ApplicationInstances))
	for _, i := range page.ApplicationInstances {
		out = append(out, *i.port())
	}
	return res.status, out, nil
}

// GetOne reads GetPath for objectID (a GUID), whatever Config.Lookup says,
// so the doctor can check the inferred path. A 200 is decoded; an object id
// missing from the answer is taken as the one asked for, and a different
// one is returned as it is for the caller to compare.
func (c *Client) GetOne(ctx context.Context, objectID string) (int, *steps.ApplicationInstance, error) {
	if err := checkGUID("get instance", "object id", objectID); err != nil {
		return 0, nil, err
	}
	cl := call{op: "get instance", method: http.MethodGet, path: expand(c.cfg.GetPath, objectID)}
	res, err := c.attempt(ctx, cl, nil)
	if err != nil {
		return 0, nil, err
	}
	if res.status != http.StatusOK {
		return res.status, nil, c.statusError(cl, res)
	}
	var inst instanceJSON
	if err := json.Unmarshal(res.body, &inst); err != nil {
		return res.status, nil, &apperr.Error{Code: apperr.Internal, Message: "teams admin get instance: decode response", Err: err}
	}
	if strings.TrimSpace(inst.ObjectID) == "" {
		inst.ObjectID = objectID
	}
	return res.status, inst.port(), nil
}
