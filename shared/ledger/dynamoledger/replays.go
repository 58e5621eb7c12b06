package dynamoledger

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Keys of used signatures (see the package doc).
const (
	signaturePrefix = "sig#"
	skSignature     = "signature"
)

// Signatures records the signatures the HTTP door accepted, shared by every
// instance of the door, so that a captured request is accepted once
// whichever instance it is replayed to. It satisfies the httpapi.SignatureLog
// port by method set (this package does not import the door, which would
// link the validator into every function). Items expire: each carries ttl,
// and an expired item that TTL has not deleted yet does not count.
type Signatures struct {
	api   API
	table string
	now   func() time.Time
}

// NewSignatures returns the used signatures kept in table.
func NewSignatures(api API, table string) *Signatures {
	return &Signatures{api: api, table: table, now: time.Now}
}

// First records key as used until expires and reports whether it was
// unused: no item, or one whose ttl (expires, in Unix seconds) is before
// the current second. It is one conditional put, so of concurrent calls
// with one key, in any number of processes, exactly one returns true. An
// error means the store could not tell; the caller must not take it for
// true.
func (s *Signatures) First(ctx context.Context, key [32]byte, expires time.Time) (bool, error) {
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      signatureItem(key).num(attrTTL, expires.Unix()),
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #ttl < :now"),
		ExpressionAttributeNames:  names(attrPK, attrTTL),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(s.now().Unix(), 10)}},
	})
	if err == nil {
		return true, nil
	}
	if _, ok := conditionFailed(err); ok {
		return false, nil
	}
	return false, fmt.Errorf("dynamoledger: record signature: %w", err)
}

// signatureItem is the key of a used signature's item.
func signatureItem(sig [32]byte) item {
	return key(signaturePrefix+hex.EncodeToString(sig[:]), skSignature)
}
