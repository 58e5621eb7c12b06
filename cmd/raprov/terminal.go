package main

import (
	"github.com/raprov/raprov/shared/termsafe"
)

// safe returns s fit to print on the operator's terminal: every string that
// comes from a request file, the tenant or the ledger goes through it (see
// termsafe.Escape).
func safe(s string) string { return termsafe.Escape(s) }
