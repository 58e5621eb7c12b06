package memledger_test

import (
	"testing"

	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/ledgertest"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) ledger.Ledger { return memledger.New() })
}
