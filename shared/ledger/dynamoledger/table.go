package dynamoledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is the part of *dynamodb.Client the ledger, claims and holds use.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// TableAPI is the part of *dynamodb.Client CreateTable uses.
type TableAPI interface {
	dynamodb.DescribeTableAPIClient
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ API = (*dynamodb.Client)(nil)
var _ TableAPI = (*dynamodb.Client)(nil)

// Key and TTL attribute names.
const (
	attrPK  = "pk"
	attrSK  = "sk"
	attrTTL = "ttl"
)

// CreateTableTimeout bounds how long CreateTable waits for a new table to
// become active.
const CreateTableTimeout = 5 * time.Minute

// CreateTable creates the table the package's types share, if it does not
// exist: pk and sk strings, billed per request, TTL enabled on ttl. It
// returns once the table is active. Calling it for a table that exists (with
// this layout) only makes sure TTL is on.
func CreateTable(ctx context.Context, api TableAPI, name string) error {
	_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamoledger: create table %s: %w", name, err)
	}
	err = dynamodb.NewTableExistsWaiter(api).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, CreateTableTimeout)
	if err != nil {
		return fmt.Errorf("dynamoledger: wait for table %s: %w", name, err)
	}
	ttl, err := api.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("dynamoledger: describe TTL of table %s: %w", name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attrTTL &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("dynamoledger: enable TTL on table %s: %w", name, err)
	}
	return nil
}

// item is a DynamoDB item under construction or being read.
type item map[string]types.AttributeValue

// key returns the primary key pk, sk.
func key(pk, sk string) item {
	return item{attrPK: &types.AttributeValueMemberS{Value: pk}, attrSK: &types.AttributeValueMemberS{Value: sk}}
}

// str sets a string attribute; an empty one is not stored.
func (it item) str(name, v string) item {
	if v != "" {
		it[name] = &types.AttributeValueMemberS{Value: v}
	}
	return it
}

// num sets a number attribute.
func (it item) num(name string, v int64) item {
	it[name] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	return it
}

// expires sets ttl when at is not zero.
func (it item) expires(at time.Time) item {
	if !at.IsZero() {
		it.num(attrTTL, at.Unix())
	}
	return it
}

// reader reads attributes of an item, remembering the first malformed one.
type reader struct {
	it  map[string]types.AttributeValue
	err error
}

// str returns a string attribute, "" when absent.
func (r *reader) str(name string) string {
	switch v := r.it[name].(type) {
	case nil:
		return ""
	case *types.AttributeValueMemberS:
		return v.Value
	}
	r.fail(name)
	return ""
}

// num returns a number attribute, 0 when absent.
func (r *reader) num(name string) int64 {
	switch v := r.it[name].(type) {
	case nil:
		return 0
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err == nil {
			return n
		}
	}
	r.fail(name)
	return 0
}

// time returns a Unix-nanosecond attribute as a UTC time.
func (r *reader) time(name string) time.Time { return time.Unix(0, r.num(name)).UTC() }

func (r *reader) fail(name string) {
	if r.err == nil {
		r.err = fmt.Errorf("dynamoledger: item %v: malformed attribute %s", r.it[attrPK], name)
	}
}

// names returns ExpressionAttributeNames mapping "#n" to n for each name,
// so that no attribute collides with DynamoDB's reserved words.
func names(ns ...string) map[string]string {
	m := make(map[string]string, len(ns))
	for _, n := range ns {
		m["#"+n] = n
	}
	return m
}

// conditionFailed reports whether err is a refused condition.
func conditionFailed(err error) (*types.ConditionalCheckFailedException, bool) {
	var ccf *types.ConditionalCheckFailedException
	return ccf, errors.As(err, &ccf)
}
