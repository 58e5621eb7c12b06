package graph

import (
	"context"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

var (
	_ steps.AccountRemover   = (*Client)(nil)
	_ steps.LicenseRemover   = (*Client)(nil)
	_ steps.NumberUnassigner = (*Client)(nil)
)

// Cost of the removals in Graph's identity model (graphcost): a write is 1
// resource unit and 1 of the 3,000 writes per 150 s; a read with $select is
// 1 resource unit of 3,500+ per 10 s. Writes are the scarcer quota (20/s
// against 350 RU/s), so a removal reads first when that can spare a write
// or a dependence on an undocumented answer:
//   - Block reads accountEnabled: raprov creates its accounts blocked, so
//     the read usually saves the PATCH.
//   - RemoveLicense reads assignedLicenses: Graph's answer to removing a
//     license the user lacks is not documented (lacksLicense), and the read
//     keeps a repeated call from writing at all. The remove-license step
//     checks the sku on its own read of the account too; the second read
//     costs 1 RU per account.
//   - Delete does not read: its caller has just read the account to check
//     raprov's ownership mark, and a DELETE of a user that is gone answers
//     a documented 404, which is success.

// Delete deletes the user (DELETE /users/{id}). A user that does not exist
// (404) counts as deleted, so a repeated call converges; right after a
// create a 404 can also be replication lag, which is why callers read the
// account (its ownership mark) before deleting it. Licenses are freed by the
// deletion; a number still assigned to the account gets stuck, so unassign
// it first. Throttling and 5xx are Throttled and Unavailable; 401/403 is
// Forbidden (permission_denied: User.ReadWrite.All is needed).
func (c *Client) Delete(ctx context.Context, id string) error {
	if id == "" {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: delete user: empty object id")
	}
	ctx, rec := withRecorder(ctx)
	if err := c.usersBuilder().ByUserId(id).Delete(ctx, nil); err != nil {
		e := mapError("delete user", err, rec)
		if apperr.CodeOf(e) == apperr.NotFound {
			c.log.InfoContext(ctx, "graph: user already deleted", slog.String("id", id))
			return nil
		}
		return e
	}
	c.log.InfoContext(ctx, "graph: user deleted", slog.String("id", id))
	return nil
}

// Block blocks the user's sign-in (accountEnabled false). It reads
// accountEnabled first ($select: 1 resource unit, no write) and sends the
// PATCH only when sign-in is still allowed: raprov creates its accounts
// blocked, so the usual call costs no write at all. An unknown user is
// NotFound.
func (c *Client) Block(ctx context.Context, id string) error {
	if id == "" {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: block user: empty object id")
	}
	rctx, rec := withRecorder(ctx)
	u, err := c.usersBuilder().ByUserId(id).Get(rctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "accountEnabled"}},
	})
	if err != nil {
		return mapError("block user: read", err, rec)
	}
	if u != nil && u.GetAccountEnabled() != nil && !*u.GetAccountEnabled() {
		return nil // blocked already: no write
	}
	patch := models.NewUser()
	patch.SetAccountEnabled(ptr(false))
	wctx, rec := withRecorder(ctx)
	if _, err := c.usersBuilder().ByUserId(id).Patch(wctx, patch, nil); err != nil {
		return mapError("block user", err, rec)
	}
	c.log.InfoContext(ctx, "graph: user sign-in blocked", slog.String("id", id))
	return nil
}

// RemoveLicense removes skuID from the user's licenses (POST
// /users/{id}/assignLicense with "addLicenses": [] and "removeLicenses":
// [skuID]; Graph refuses the call without both lists). It reads the user's
// assignedLicenses first ($select: 1 resource unit) and writes only when
// the sku is there, so a repeated call sends no write. Should the license
// go between the read and the write, Graph's 400 "User does not have a
// corresponding license." (wording inferred; see lacksLicense) is success
// too. An unknown user is NotFound; a skuID that is not a GUID is Invalid
// (invalid_request).
func (c *Client) RemoveLicense(ctx context.Context, userID, skuID string) error {
	id, err := uuid.Parse(skuID)
	if err != nil {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: remove license: sku id %q is not a GUID", skuID)
	}
	if userID == "" {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: remove license: empty object id")
	}
	rctx, rec := withRecorder(ctx)
	u, err := c.usersBuilder().ByUserId(userID).Get(rctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "assignedLicenses"}},
	})
	if err != nil {
		return mapError("remove license: read licenses", err, rec)
	}
	if u == nil {
		return &apperr.Error{Code: apperr.Internal, Message: "graph: remove license: read licenses: empty response"}
	}
	held := false
	for _, l := range u.GetAssignedLicenses() {
		if s := l.GetSkuId(); s != nil && *s == id {
			held = true
		}
	}
	if !held {
		return nil
	}
	body := users.NewItemAssignLicensePostRequestBody()
	body.SetAddLicenses([]models.AssignedLicenseable{})
	body.SetRemoveLicenses([]uuid.UUID{id})
	wctx, rec := withRecorder(ctx)
	if _, err := c.usersBuilder().ByUserId(userID).AssignLicense().Post(wctx, body, nil); err != nil {
		if lacksLicense(err) {
			return nil
		}
		return mapError("remove license", err, rec)
	}
	c.log.InfoContext(ctx, "graph: license removed", slog.String("id", userID), slog.String("skuId", strings.ToLower(skuID)))
	return nil
}

// Unassign starts unassigning the number (POST
// …/numberAssignments/unassignNumber {telephoneNumber, numberType},
// answered 202 with an empty body) and returns the operation id from the
// Location header; read its outcome with Operation. Each call starts an
// operation: one on a number that is no longer assigned succeeds, one on
// a number not in the inventory fails (as assignNumber's do). Errors map as
// Assign's.
func (c *Client) Unassign(ctx context.Context, e164, numberType string) (string, error) {
	if e164 == "" || numberType == "" {
		return "", apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: unassign number: telephone number and number type are required")
	}
	id, err := c.startNumberAction(ctx, "unassign number", "unassignNumber", struct {
		TelephoneNumber string `json:"telephoneNumber"`
		NumberType      string `json:"numberType"`
	}{e164, numberType})
	if err != nil {
		return "", err
	}
	c.log.InfoContext(ctx, "graph: number unassignment started", slog.String("number", e164), slog.String("operation", id))
	return id, nil
}
