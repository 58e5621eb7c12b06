package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/raprov/raprov/shared/apperr"
)

// Read-only helpers for `raprov doctor` (package shared/doctor), which
// checks a tenant before a run. Nothing here writes.

// maxReadBody bounds the body Read returns.
const maxReadBody = 4 << 20

// AccessToken returns an access token for scope from the client's
// credential (the same cache the client's calls use), so that the doctor
// can read the permissions and roles it carries. The token is a bearer
// credential: decode it, never print or log it. A failed request is an
// *apperr.Error: Forbidden when the token endpoint refused the app's
// credentials (wrong tenant, client id, secret or certificate, or a scope
// unknown to the tenant), Unavailable when it could not be reached.
func (c *Client) AccessToken(ctx context.Context, scope string) (string, error) {
	if strings.TrimSpace(scope) == "" {
		return "", apperr.New(apperr.Invalid, "", "graph: access token: empty scope")
	}
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		mapped := mapError("token for "+scope, err, nil)
		// The identity platform's reason (AADSTS code and first sentence)
		// tells an administrator what to fix; it never holds the secret.
		var afe *azidentity.AuthenticationFailedError
		if e, ok := apperr.As(mapped); ok && errors.As(err, &afe) {
			if reason := aadsts.FindString(afe.Error()); reason != "" {
				e.Message += ": " + reason
			}
		}
		return "", mapped
	}
	return tok.Token, nil
}

// aadsts matches the identity platform's error code and first sentence,
// e.g. "AADSTS7000215: Invalid client secret provided."
var aadsts = regexp.MustCompile(`AADSTS\d+: [^.\n]{1,200}\.`)

// Read sends one GET of path (relative to the base URL, e.g.
// "/subscribedSkus") with query through the client's request adapter: the
// same authentication, budget, retries of 429/503/504 and host check as
// every other call. It returns the HTTP status and the body of whatever
// Graph answered, error statuses included; err is set only when there was
// no answer (token refused, network, budget), as an *apperr.Error.
func (c *Client) Read(ctx context.Context, path string, query url.Values) (int, []byte, error) {
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "//") || strings.Contains(path, "..") || strings.ContainsAny(path, "?#") {
		return 0, nil, apperr.New(apperr.Invalid, "", "graph: read: path %q must be relative to the base URL", path)
	}
	u, err := url.Parse(strings.TrimRight(c.adapter.GetBaseUrl(), "/") + path)
	if err != nil {
		return 0, nil, &apperr.Error{Code: apperr.Invalid, Message: "graph: read: bad path", Err: err}
	}
	// url.Values encodes a space as '+'; OData expects %20 ('+' itself is
	// encoded as %2B, so every '+' left is a space).
	u.RawQuery = strings.ReplaceAll(query.Encode(), "+", "%20")

	ri := abs.NewRequestInformation()
	ri.Method = abs.GET
	ri.SetUri(*u)
	ri.Headers.TryAdd("Accept", "application/json")

	var status int
	var body []byte
	var readErr error
	handler := abs.NewRequestHandlerOption()
	handler.SetResponseHandler(func(response any, _ abs.ErrorMappings) (any, error) {
		resp, ok := response.(*http.Response)
		if !ok || resp == nil {
			return nil, fmt.Errorf("unexpected response %T", response)
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		body, readErr = io.ReadAll(io.LimitReader(resp.Body, maxReadBody))
		return nil, nil
	})
	ri.AddRequestOptions([]abs.RequestOption{handler})

	op := "GET " + path
	ctx, rec := withRecorder(ctx)
	if _, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMappings); err != nil {
		return 0, nil, mapError(op, err, rec)
	}
	if readErr != nil {
		return status, body, &apperr.Error{Code: apperr.Unavailable, Message: "graph: " + op + ": read response", Err: readErr}
	}
	return status, body, nil
}
