package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/deprovision"
	"github.com/raprov/raprov/shared/submission"
)

func newSubmitCmd() *cobra.Command {
	s, err := loadSettings()
	cmd := &cobra.Command{
		Use:   "submit FILE",
		Short: "Queue the requests of FILE (CSV or JSON lines; - for stdin) for `raprov run --serve` or the AWS functions (--transport sqs)",
		Args:  cobra.ExactArgs(1),
		RunE: withOps(&s, &err, func(cmd *cobra.Command, args []string, ops opsHost) error {
			name, rows, bad, err := readRequests(args, s.AllowDeprovisionRows)
			if err != nil {
				return err
			}
			if s.AllowDeprovisionRows {
				if rows, bad, err = deprovision.RefuseTakenOver(cmd.Context(), ops.Ledger(), rows, bad); err != nil {
					return unreachableError(err)
				}
			}
			out := cmd.OutOrStdout()
			for _, e := range bad {
				fmt.Fprintf(out, "%s: %s\n", safe(name), safe(e.Error()))
			}
			reqs := make([]events.Request, len(rows))
			for i, r := range rows {
				reqs[i] = r.Request
			}
			subs, err := ops.Submit(cmd.Context(), "", reqs)
			if err != nil {
				return err
			}
			counts := map[submission.Outcome]int{}
			for i, r := range reqs {
				o := subs[i].Outcome
				counts[o]++
				switch o {
				case submission.Conflict:
					reportConflict(out, name, rows[i].Line, r.RequestID)
				case submission.Duplicate:
					fmt.Fprintf(out, "%s\talready submitted\n", safe(r.RequestID))
				default:
					fmt.Fprintln(out, safe(r.RequestID))
				}
			}
			fmt.Fprintf(out, "submitted %d requests to %s (%d already submitted, %d refused as request_conflict)\n",
				counts[submission.Sent], safe(ops.Where()), counts[submission.Duplicate], counts[submission.Conflict])
			if len(bad) > 0 || counts[submission.Conflict] > 0 {
				return exitCode(1)
			}
			return nil
		}),
	}
	s.bindOps(cmd)
	return cmd
}
