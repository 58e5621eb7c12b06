package host

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/raprov/raprov/shared/ledger/dynamoledger"
)

// Signatures returns the HTTP door's signature log on the host's DynamoDB
// table, which every instance of the function shares, so that a signed
// request is accepted once whichever instance it reaches. Its client is
// configured as the host's own (endpoint override, retries); the door
// builds it once, at init.
func (h *Host) Signatures() *dynamoledger.Signatures {
	ddb := dynamodb.NewFromConfig(h.AWS, dynamoDBOptions(os.Getenv))
	return dynamoledger.NewSignatures(ddb, h.Settings.Table)
}
