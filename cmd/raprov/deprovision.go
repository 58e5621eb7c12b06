package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/deprovision"
	"github.com/raprov/raprov/shared/requestfile"
	"github.com/raprov/raprov/shared/transport/local"
)

func newDeprovisionCmd() *cobra.Command {
	s, err := loadSettings()
	var f runFlags
	var upns []string
	cmd := &cobra.Command{
		Use:   "deprovision REQUEST_ID... | --upn UPN...",
		Short: "Remove the accounts raprov created: their association, numbers, license, then the account",
		Long: `deprovision removes resource accounts raprov created (docs/deprovision.md): for each
REQUEST_ID, the account that provisioning request created, as the ledger of
--db recorded it; for each --upn, the account with that userPrincipalName,
if it carries any raprov ownership mark. It runs the deprovisioning chain on
the embedded default — unassociate, unassign every number, remove the
resource-account license, delete the account (RAPROV_DEPROVISION_MODE=block
keeps it, sign-in blocked) — and ends with the outcomes, as run does
(-o json, -o jsonl; docs/cli.md).

Every REQUEST_ID is checked before anything is submitted: an unknown id, a
request still running, one that failed before an account was made, or a
deprovision request refuses the whole command (exit 2). Accounts raprov did
not create fail with not_owned and are left untouched. Asking again for the
same REQUEST_ID is a duplicate: the account is removed once.

Without --graph-url and RAPROV_GRAPH_TENANT_ID, the tenant is the in-process
simulator, which starts afresh with every command: accounts made by an
earlier raprov run are not in it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err != nil {
				return err
			}
			if len(args) == 0 && len(upns) == 0 {
				return usageError(errors.New("name the provisioning requests whose accounts to remove (REQUEST_ID...) or the accounts (--upn)"))
			}
			rows, err := deprovisionRows(cmd.Context(), s.DB, args, upns)
			if err != nil {
				return err
			}
			f.rows, f.rowsName = rows, "deprovision"
			f.diag = cmd.ErrOrStderr()
			return runChain(cmd.Context(), s, f, nil, cmd.OutOrStdout())
		},
	}
	s.bindChain(cmd)
	addOutputFlag(cmd, &f.output)
	fl := cmd.Flags()
	fl.StringSliceVar(&upns, "upn", nil, "remove the account with this userPrincipalName (any raprov-created account; repeatable)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up waiting for outcomes after this long")
	fl.StringVar(&f.progress, "progress", "auto", "progress display: auto (bar on a terminal), bar, lines, none")
	fl.IntVar(&f.seedUnits, "demo-free-licenses", -1, "in-process simulator only: free resource-account licenses at the start (-1: the seed's)")
	fl.BoolVar(&f.demoTiming, "demo-timing", false, "simulator only: the in-process demo's short step delays, for a simulator at --graph-url with scaled-down delays")
	return cmd
}

// deprovisionRows builds the deprovision requests: one per request id, as
// deprovision.Request judges it against the ledger at db, then one per UPN
// under a new id.
// Any refused id refuses them all (a usage error), before anything is
// submitted. Rows are numbered by argument position.
func deprovisionRows(ctx context.Context, db string, ids, upns []string) ([]requestfile.Row, error) {
	var rows []requestfile.Row
	if len(ids) > 0 {
		if _, err := os.Stat(db); err != nil {
			return nil, usageError(fmt.Errorf("no ledger at %s to find requests %s in: %w", safe(db), safe(strings.Join(ids, ", ")), err))
		}
		store, err := local.Open(ctx, db, local.Options{})
		if err != nil {
			return nil, unreachableError(err)
		}
		defer store.Close()
		var refused []string
		for _, id := range ids {
			st, err := store.Ledger().Get(ctx, strings.TrimSpace(id))
			switch {
			case apperr.CodeOf(err) == apperr.NotFound:
				refused = append(refused, fmt.Sprintf("%s: no such request in %s", safe(id), safe(db)))
				continue
			case err != nil:
				return nil, unreachableError(err)
			}
			req, refusal := deprovision.Request(st, "", "")
			if refusal == nil {
				if refusal, err = deprovision.CheckHolders(ctx, store.Ledger(), st); err != nil {
					return nil, unreachableError(err)
				}
			}
			if refusal != nil {
				refused = append(refused, safe(refusal.Message))
				continue
			}
			rows = append(rows, requestfile.Row{Line: len(rows) + 1, Request: req})
		}
		if len(refused) > 0 {
			return nil, usageError(fmt.Errorf("nothing was submitted:\n  %s", strings.Join(refused, "\n  ")))
		}
	}
	for _, upn := range upns {
		// A new id each time: the same UPN may name another account
		// tomorrow, and a repeat must look again, not answer from the ledger.
		req := events.Request{RequestID: "deprovision-" + uuid.Must(uuid.NewV7()).String(), UserPrincipalName: upn, Action: events.ActionDeprovision}
		rows = append(rows, requestfile.Row{Line: len(rows) + 1, Request: req})
	}
	return rows, nil
}
