package dynamoledger

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/raprov/raprov/shared/apperr"
)

// Keys and attributes of claims and holds (see the package doc).
const (
	claimPrefix     = "claim#"
	skClaim         = "claim"
	numberPrefix    = "number#"
	skHold          = "hold"
	attrFingerprint = "fingerprint"
	attrNumber      = "number"
	attrAt          = "at"
)

// Claims records which event first claimed each request id, and the
// fingerprint of the request it carried, so that a request id provisions
// once, forever. It satisfies intake's steps.Claims port. Claims never
// expire.
type Claims struct {
	api   API
	table string
}

// NewClaims returns the claims kept in table.
func NewClaims(api API, table string) *Claims { return &Claims{api: api, table: table} }

// Claim records requestID as taken by the event eventID carrying a request
// with the given fingerprint, unless an event holds it already, and returns
// the holder: eventID and fingerprint when this call took the id or the same
// event took it before (a redelivery, a replay), else the first event's id
// and fingerprint. It is one conditional put.
func (c *Claims) Claim(ctx context.Context, requestID, eventID, fingerprint string) (holder, holderFingerprint string, err error) {
	if requestID == "" || eventID == "" {
		return "", "", apperr.New(apperr.Invalid, "", "dynamoledger: a claim needs a request id and an event id")
	}
	_, err = c.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(c.table),
		Item: key(claimPrefix+requestID, skClaim).str(attrRequestID, requestID).str(attrEventID, eventID).
			str(attrFingerprint, fingerprint).num(attrAt, time.Now().UnixNano()),
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            names(attrPK),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return eventID, fingerprint, nil
	}
	ccf, ok := conditionFailed(err)
	if !ok {
		return "", "", fmt.Errorf("dynamoledger: claim request %s: %w", requestID, err)
	}
	if ccf.Item == nil { // a store that does not return the item the condition saw
		return c.Holder(ctx, requestID)
	}
	r := reader{it: ccf.Item}
	holder, holderFingerprint = r.str(attrEventID), r.str(attrFingerprint)
	return holder, holderFingerprint, r.err
}

// Holder returns the event holding requestID and its fingerprint, or empty
// strings when nobody claimed it. It reads consistently.
func (c *Claims) Holder(ctx context.Context, requestID string) (holder, holderFingerprint string, err error) {
	out, err := c.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(c.table),
		Key:            key(claimPrefix+requestID, skClaim),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", "", fmt.Errorf("dynamoledger: claim holder of %s: %w", requestID, err)
	}
	r := reader{it: out.Item}
	return r.str(attrEventID), r.str(attrFingerprint), r.err
}

// NumberHolds records which request in progress holds each requested phone
// number. It satisfies the steps.NumberHolds port of check-license and
// complete. Holds never expire; their request releases them.
type NumberHolds struct {
	api   API
	table string
}

// NewNumberHolds returns the number holds kept in table.
func NewNumberHolds(api API, table string) *NumberHolds {
	return &NumberHolds{api: api, table: table}
}

// Hold records number as held by requestID unless another request holds it,
// and returns the holder (requestID when this call took it or the request
// held it already). It is one conditional put.
func (h *NumberHolds) Hold(ctx context.Context, number, requestID string) (holder string, err error) {
	if number == "" || requestID == "" {
		return "", apperr.New(apperr.Invalid, "", "dynamoledger: a number hold needs a number and a request id")
	}
	_, err = h.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(h.table),
		Item: key(numberPrefix+number, skHold).str(attrNumber, number).str(attrRequestID, requestID).
			num(attrAt, time.Now().UnixNano()),
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            names(attrPK),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return requestID, nil
	}
	ccf, ok := conditionFailed(err)
	if !ok {
		return "", fmt.Errorf("dynamoledger: hold number %s: %w", number, err)
	}
	it := ccf.Item
	if it == nil { // a store that does not return the item the condition saw
		out, err := h.api.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(h.table),
			Key:            key(numberPrefix+number, skHold),
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return "", fmt.Errorf("dynamoledger: holder of number %s: %w", number, err)
		}
		if out.Item == nil { // released in between: try again
			return h.Hold(ctx, number, requestID)
		}
		it = out.Item
	}
	r := reader{it: it}
	holder = r.str(attrRequestID)
	return holder, r.err
}

// Release ends requestID's hold on number; another request's hold stays,
// and releasing a number the request does not hold changes nothing. It is
// one conditional delete.
func (h *NumberHolds) Release(ctx context.Context, number, requestID string) error {
	if number == "" || requestID == "" {
		return nil // Hold refuses both: nothing is held under them
	}
	_, err := h.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(h.table),
		Key:                       key(numberPrefix+number, skHold),
		ConditionExpression:       aws.String("#requestId = :requestId"),
		ExpressionAttributeNames:  names(attrRequestID),
		ExpressionAttributeValues: item{}.str(":requestId", requestID),
	})
	if _, ok := conditionFailed(err); err != nil && !ok {
		return fmt.Errorf("dynamoledger: release number %s: %w", number, err)
	}
	return nil
}
