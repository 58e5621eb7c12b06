package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/transport"
)

func newDLQCmd() *cobra.Command {
	s, err := loadSettings()
	var queue string
	var limit int
	var o outputFormat
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect, replay and delete dead letters"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters with their reasons (-o json, jsonl: docs/cli.md)",
		Args:  cobra.NoArgs,
		RunE: withOps(&s, &err, func(cmd *cobra.Command, args []string, ops opsHost) error {
			dls, err := ops.DeadLetters().List(cmd.Context(), queue, limit)
			if err != nil {
				return err
			}
			recs := make([]deadLetterRecord, len(dls))
			for i, d := range dls {
				recs[i] = deadLetterRecordOf(d)
			}
			if o.machine() {
				return writeList(cmd.OutOrStdout(), o, recs)
			}
			return printDeadLetters(cmd.OutOrStdout(), recs)
		}),
	}
	addOutputFlag(list, &o)
	replay := &cobra.Command{
		Use:   "replay ID...",
		Short: "Send dead letters back to their queue (replaycount + 1, attempts reset); run them with `raprov run --serve`",
		Args:  cobra.MinimumNArgs(1),
		RunE: withOps(&s, &err, func(cmd *cobra.Command, args []string, ops opsHost) error {
			dl := ops.DeadLetters()
			for _, id := range args {
				d, err := dl.Get(cmd.Context(), id)
				if err != nil {
					return err
				}
				body, err := replayBody(d.Body)
				if err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
				if err := dl.Requeue(cmd.Context(), id, body); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "replayed %s to %s\n", id, d.Queue)
			}
			return nil
		}),
	}
	var yes bool
	del := &cobra.Command{
		Use:   "delete ID...",
		Short: "Delete dead letters for good (asks first unless --yes)",
		Args:  cobra.MinimumNArgs(1),
		RunE: withOps(&s, &err, func(cmd *cobra.Command, args []string, ops opsHost) error {
			dl := ops.DeadLetters()
			for _, id := range args {
				if _, err := dl.Get(cmd.Context(), id); err != nil {
					return err
				}
			}
			if !confirm(cmd, yes, fmt.Sprintf("Delete %d dead letter(s) for good?", len(args))) {
				return exitCode(1)
			}
			for _, id := range args {
				if err := dl.Delete(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", id)
			}
			return nil
		}),
	}
	purge := &cobra.Command{
		Use:   "purge",
		Short: "Delete every dead letter, or those of one queue (--queue); asks first unless --yes",
		Args:  cobra.NoArgs,
		RunE: withOps(&s, &err, func(cmd *cobra.Command, args []string, ops opsHost) error {
			dl := ops.DeadLetters()
			n, err := dl.Count(cmd.Context(), queue)
			if err != nil {
				return err
			}
			where := "every queue"
			if queue != "" {
				where = "queue " + queue
			}
			if n == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no dead letters in %s\n", where)
				return nil
			}
			if !confirm(cmd, yes, fmt.Sprintf("Delete all %d dead letter(s) of %s for good?", n, where)) {
				return exitCode(1)
			}
			n, err = dl.Purge(cmd.Context(), queue)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %d dead letter(s) of %s\n", n, where)
			return nil
		}),
	}
	for _, c := range []*cobra.Command{list, replay, del, purge} {
		s.bindOps(c)
	}
	for _, c := range []*cobra.Command{del, purge} {
		c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	}
	list.Flags().StringVar(&queue, "queue", "", "only this step's queue")
	purge.Flags().StringVar(&queue, "queue", "", "only this step's queue")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many")
	cmd.AddCommand(list, replay, del, purge)
	return cmd
}

// deadLetterRecordOf is d's record; the request id and type come from the
// event it holds, when it holds one.
func deadLetterRecordOf(d transport.DeadLetter) deadLetterRecord {
	rec := deadLetterRecord{ID: d.ID, Queue: d.Queue, Reason: d.Reason, Detail: d.Detail, Received: d.Received, At: d.At.UTC()}
	if ev, err := events.Decode(d.Body); err == nil {
		rec.RequestID, rec.Type = ev.Subject, ev.Type
	} else {
		rec.Undecodable = true
	}
	return rec
}

// printDeadLetters prints the dead letters' table. Subjects and details
// come from message bodies: escaped.
func printDeadLetters(out io.Writer, recs []deadLetterRecord) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUE\tREQUEST\tTYPE\tREASON\tRECEIVED\tAT\tDETAIL\t")
	for _, d := range recs {
		subject, typ := d.RequestID, d.Type
		if d.Undecodable {
			subject, typ = "?", "(undecodable)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", d.ID, safe(d.Queue), safe(subject), safe(typ), safe(d.Reason), d.Received, d.At.Format(time.RFC3339), safe(d.Detail))
	}
	return tw.Flush()
}

// confirm asks question on the command's input unless yes is set; only "y"
// or "yes" confirms. Without an answer (end of input, a script without
// --yes) nothing is deleted.
func confirm(cmd *cobra.Command, yes bool, question string) bool {
	if yes {
		return true
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "nothing deleted (use --yes in scripts)")
	return false
}

// replayBody bumps an event's replay count and resets its attempts; an
// undecodable body is replayed unchanged, to be judged again.
func replayBody(body []byte) ([]byte, error) {
	ev, err := events.Decode(body)
	if err != nil {
		return nil, nil
	}
	ev.ReplayCount++
	ev.Attempt = 0
	return events.Encode(ev)
}
