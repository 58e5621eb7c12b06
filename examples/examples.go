// Package examples bundles the example request file that `raprov run`
// provisions when no file is given.
package examples

import _ "embed"

// RequestsCSV is examples/requests.csv: resource accounts in several
// countries, with the outcome each row should reach in its expect column.
//
//go:embed requests.csv
var RequestsCSV []byte
