package graph

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// skuFields is the $select of subscribedSkus: what steps.Sku holds.
var skuFields = []string{"skuId", "skuPartNumber", "capabilityStatus", "consumedUnits", "prepaidUnits"}

// Sku returns the tenant's subscribed SKU whose skuPartNumber matches
// partNumber case-insensitively. A tenant without it is an apperr NotFound
// error with Reason no_license. subscribedSkus supports no $filter, so the
// list is read and matched here.
func (c *Client) Sku(ctx context.Context, partNumber string) (steps.Sku, error) {
	ctx, rec := withRecorder(ctx)
	builder := c.skusBuilder()
	cfg := &subscribedskus.SubscribedSkusRequestBuilderGetRequestConfiguration{
		QueryParameters: &subscribedskus.SubscribedSkusRequestBuilderGetQueryParameters{Select: skuFields},
	}
	for {
		page, err := builder.Get(ctx, cfg)
		if err != nil {
			return steps.Sku{}, mapError("list subscribed SKUs", err, rec)
		}
		for _, s := range page.GetValue() {
			if strings.EqualFold(deref(s.GetSkuPartNumber()), partNumber) {
				return sku(s), nil
			}
		}
		next := deref(page.GetOdataNextLink())
		if next == "" {
			break
		}
		builder, cfg = builder.WithUrl(next), nil
	}
	return steps.Sku{}, apperr.New(apperr.NotFound, events.ReasonNoLicense, "graph: tenant has no subscribed SKU %q", partNumber)
}

func sku(s models.SubscribedSkuable) steps.Sku {
	out := steps.Sku{
		PartNumber:       deref(s.GetSkuPartNumber()),
		CapabilityStatus: deref(s.GetCapabilityStatus()),
		Consumed:         int(deref(s.GetConsumedUnits())),
	}
	if id := s.GetSkuId(); id != nil {
		out.ID = id.String()
	}
	if p := s.GetPrepaidUnits(); p != nil {
		out.Enabled = int(deref(p.GetEnabled()))
	}
	return out
}

// AssignLicense adds skuID to the user's licenses with no plan disabled.
// The body carries "removeLicenses": [] explicitly: Graph answers 400
// without it. A tenant out of seats is apperr Invalid with Reason
// no_license, as is a skuID the tenant does not subscribe to. Graph's 400
// for the user's usage location is apperr Invalid (reason rejected) wrapping
// steps.ErrUsageLocationRejected: the step retries it, since Graph gives it
// for a while after the usage location was set.
func (c *Client) AssignLicense(ctx context.Context, userID, skuID string) error {
	id, err := uuid.Parse(skuID)
	if err != nil {
		return apperr.New(apperr.Invalid, events.ReasonNoLicense, "graph: assign license: sku id %q is not a GUID", skuID)
	}
	if userID == "" {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: assign license: empty object id")
	}
	l := models.NewAssignedLicense()
	l.SetSkuId(&id)
	l.SetDisabledPlans([]uuid.UUID{})
	body := users.NewItemAssignLicensePostRequestBody()
	body.SetAddLicenses([]models.AssignedLicenseable{l})
	body.SetRemoveLicenses([]uuid.UUID{})

	ctx, rec := withRecorder(ctx)
	if _, err := c.usersBuilder().ByUserId(userID).AssignLicense().Post(ctx, body, nil); err != nil {
		return mapError("assign license", err, rec)
	}
	return nil
}
