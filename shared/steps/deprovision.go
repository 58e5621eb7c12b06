package steps

import (
	"context"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// Deprovision modes (Config.DeprovisionMode): what remove-account does with
// an account once its association, number and license are gone.
const (
	DeprovisionDelete = "delete" // delete the user (it stays in Entra ID's deleted items for 30 days)
	DeprovisionBlock  = "block"  // keep the user with sign-in blocked
)

// OwnedBy checks that raprov created acc and may remove it, before every
// deprovisioning write: the account carries a raprov ownership mark — that
// of target when target is set — and is still the cloud resource account
// raprov made (Teams' department, sign-in blocked, not synchronised from
// on-premises). Accounts a request adopted carry no mark and are never
// removed. It returns the request id the mark names.
func OwnedBy(acc Account, target string) (string, error) {
	owner, marked := strings.CutPrefix(acc.OwnerMark, ownerMarkPrefix)
	switch {
	case acc.OnPremisesSynced:
		return "", fail(events.ReasonNotOwned, "%s is synchronised from on-premises Active Directory; raprov removes only cloud accounts it created", acc.UserPrincipalName)
	case !marked || owner == "":
		return "", fail(events.ReasonNotOwned, "%s carries no raprov ownership mark: raprov did not create it (or a request adopted it), and it removes only accounts it created", acc.UserPrincipalName)
	case target != "" && owner != target:
		return "", fail(events.ReasonNotOwned, "%s was created by raprov for request %s, not for %s", acc.UserPrincipalName, owner, target)
	case !IsResourceAccount(acc):
		return "", fail(events.ReasonNotOwned, "%s was changed since raprov created it (sign-in enabled or department changed): it is no longer only a resource account, so raprov leaves it alone", acc.UserPrincipalName)
	}
	return owner, nil
}

// ownedAccount reads the account a deprovision request is removing and
// checks it again (OwnedBy its owner request). found is false when the
// account no longer exists: an earlier delivery, or someone else, removed it.
func ownedAccount(ctx context.Context, accounts Accounts, p events.Progress) (acc Account, found bool, err error) {
	acc, err = accounts.Get(ctx, p.ObjectID)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		return Account{}, false, nil
	case err != nil:
		return Account{}, false, err
	}
	if _, err := OwnedBy(acc, p.Owner); err != nil {
		return Account{}, false, err
	}
	return acc, true, nil
}

// passAbsent emits typ for a request whose account is gone: there is
// nothing left for this step to remove.
func passAbsent(in events.Event, typ, source string) []events.Event {
	out := in.Next(typ, source)
	out.Data.Progress.AccountAbsent = true
	out.Data.Progress.OperationID = ""
	return []events.Event{out}
}
