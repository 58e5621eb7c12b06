package host

import (
	"github.com/raprov/raprov/shared/ledger/dynamoledger"
)

// Signatures returns the HTTP door's signature log on the host's DynamoDB
// table, which every instance of the function shares, so that a signed
// request is accepted once whichever instance it reaches. It uses the
// host's own DynamoDB client (endpoint override, retries).
func (h *Host) Signatures() *dynamoledger.Signatures {
	return dynamoledger.NewSignatures(h.ddb, h.Settings.Table)
}
