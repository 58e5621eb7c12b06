package main

import (
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport/local"
)

func newStatusCmd() *cobra.Command {
	s, err := loadSettings()
	var outcome string
	var limit int
	cmd := &cobra.Command{
		Use:   "status [REQUEST-ID]",
		Short: "Show where requests stand, or one request's history",
		Args:  cobra.MaximumNArgs(1),
		RunE: withStore(&s, &err, func(cmd *cobra.Command, args []string, store *local.Store) error {
			l := store.Ledger()
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			defer tw.Flush()
			if len(args) == 1 {
				st, err := l.Get(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s: %s (step %s)\n", st.RequestID, st.Outcome, st.Step)
				fmt.Fprintln(tw, "TIME\tSTEP\tEVENT\tATTEMPT\tREASON\tDETAIL\t")
				for _, e := range st.History {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", e.Time.Format(time.RFC3339Nano), e.Step, e.Type, e.Attempt, e.Reason, e.Detail)
				}
				return nil
			}
			sum, err := l.Summary(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%d requests: %d completed, %d failed, %d in progress\n",
				sum.Total, sum.ByOutcome[ledger.Completed], sum.ByOutcome[ledger.Failed], sum.ByOutcome[ledger.InProgress])
			for _, kv := range sorted(sum.FailedByReason) {
				fmt.Fprintf(out, "  failed %-28s %d\n", kv.k, kv.v)
			}
			for _, kv := range sorted(sum.InProgressByStep) {
				fmt.Fprintf(out, "  waiting in %-24s %d\n", kv.k, kv.v)
			}
			sts, err := l.List(cmd.Context(), ledger.Filter{Outcome: ledger.Outcome(outcome), Limit: limit})
			if err != nil {
				return err
			}
			fmt.Fprintln(tw, "REQUEST\tOUTCOME\tSTEP\tREASON\tUPDATED\t")
			for _, st := range sts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", st.RequestID, st.Outcome, st.Step, st.Reason, st.Updated.Format(time.RFC3339))
			}
			return nil
		}),
	}
	s.bindCommon(cmd)
	cmd.Flags().StringVar(&outcome, "outcome", "", "only requests with this outcome: in_progress, completed, failed")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many requests")
	return cmd
}

type kv struct {
	k string
	v int
}

func sorted(m map[string]int) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}
