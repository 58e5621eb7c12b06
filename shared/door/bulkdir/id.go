package bulkdir

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/raprov/raprov/events"
)

// RowID is the default request id of a row without requestId: "bulk-" and
// the first 24 hex digits of a SHA-256 of the file's name (as given, no
// folder) and the row's userPrincipalName (trimmed, lower-cased). The UPN
// is the row's key: requestfile refuses a second row with the same UPN in
// one file, and one account is what one row asks for. The same file name
// with the same UPN gives the same id, whatever the rest of the row says:
// dropping the same file again is a Duplicate of each row (nothing is
// created twice), and a row edited under the same file name is refused as
// a conflict (DESIGN §1: one id, one request) — give the edited file
// another name to submit it as new requests. RowID returns "" for a row
// without UPN.
//
// A deprovision row (action deprovision) hashes its action too, after the
// UPN: removing an account is another request than creating it, so the
// file that provisioned ra-x@contoso.com and a later file of the same name
// that deprovisions it give two ids, not a conflict. Provisioning rows hash
// nothing more, so their ids are those raprov always gave them.
func RowID(file string, r events.Request) string {
	upn := strings.ToLower(strings.TrimSpace(r.UserPrincipalName))
	if upn == "" {
		return ""
	}
	h := sha256.New()
	h.Write([]byte("raprov bulk row\x00"))
	h.Write([]byte(file))
	h.Write([]byte{0})
	h.Write([]byte(upn))
	if r.Deprovision() {
		h.Write([]byte{0})
		h.Write([]byte(events.ActionDeprovision))
	}
	return "bulk-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// maxRequestID is intake's limit on request ids (events/validate.MaxRequestID).
const maxRequestID = 128

// checkID says why intake would refuse id (validate.Normalize's rule:
// visible ASCII, at most 128 characters), so that a row whose id could
// not be followed in the ledger is refused here.
func checkID(id string) error {
	for _, c := range id {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("requestId %q may hold only visible ASCII characters (no spaces)", id)
		}
	}
	if len(id) > maxRequestID {
		return fmt.Errorf("requestId is %d characters long; the maximum is %d", len(id), maxRequestID)
	}
	return nil
}
