package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
)

func newStatusCmd() *cobra.Command {
	s, err := loadSettings()
	var outcome string
	var limit int
	var o outputFormat
	cmd := &cobra.Command{
		Use:   "status [REQUEST-ID]",
		Short: "Show where requests stand, or one request's history",
		Long: `status counts requests by outcome, names the queue each request in progress
waits in (or the dead-letter queue its latest event was moved to) and lists the
most recently updated requests. With a request id it shows that request's
history. -o json and -o jsonl print the same as JSON records (docs/cli.md).`,
		Args: cobra.MaximumNArgs(1),
		RunE: withOps(&s, &err, func(cmd *cobra.Command, args []string, ops opsHost) error {
			loc, err := newLocator(cmd.Context(), ops)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				// Trimmed as intake trims a request id.
				rec, err := requestStatus(cmd.Context(), loc, strings.TrimSpace(args[0]))
				if err != nil {
					return err
				}
				if o.machine() {
					return writeObject(out, o, rec)
				}
				return printRequestStatus(out, rec)
			}
			sum, err := statusList(cmd.Context(), loc, ledger.Filter{Outcome: ledger.Outcome(outcome), Limit: limit})
			switch {
			case err != nil:
				return err
			case o == outputJSONL:
				return writeList(out, o, sum.Requests)
			case o.machine():
				return writeObject(out, o, sum)
			}
			return printStatusList(out, sum)
		}),
	}
	s.bindOps(cmd)
	addOutputFlag(cmd, &o)
	cmd.Flags().StringVar(&outcome, "outcome", "", "only requests with this outcome: in_progress, completed, failed")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many requests")
	return cmd
}

// requestStatus reads one request: where it stands, its dead letters and
// its history.
func requestStatus(ctx context.Context, loc *locator, id string) (statusRecord, error) {
	st, err := loc.ledger.Get(ctx, id)
	if err != nil {
		return statusRecord{}, err
	}
	w, err := loc.where(ctx, st)
	if err != nil {
		return statusRecord{}, err
	}
	rec := statusRecordOf(st, w)
	for _, d := range loc.dead[st.RequestID] {
		rec.DeadLetters = append(rec.DeadLetters, deadLetterRecordOf(d.DeadLetter))
	}
	rec.History = make([]historyRecord, len(st.History))
	for i, e := range st.History {
		rec.History[i] = historyRecord{Time: e.Time.UTC(), Step: e.Step, Type: e.Type, EventID: e.EventID, Attempt: e.Attempt,
			Reason: e.Reason, Detail: e.Detail, Outcome: outcomeOf(e.Outcome)}
	}
	return rec, nil
}

// printRequestStatus prints one request: where it stands and its history.
func printRequestStatus(out io.Writer, rec statusRecord) error {
	var latest deadLetterRecord
	for _, d := range rec.DeadLetters {
		if d.ID == rec.DeadLetterID {
			latest = d
		}
	}
	switch {
	case rec.Outcome == string(ledger.Failed):
		fmt.Fprintf(out, "%s: failed (%s)\n", safe(rec.RequestID), safe(rec.Reason))
	case rec.Outcome != string(ledger.InProgress):
		fmt.Fprintf(out, "%s: %s\n", safe(rec.RequestID), safe(rec.Outcome))
	case rec.DeadLetterID != "":
		fmt.Fprintf(out, "%s: in progress, but its latest event was dead-lettered from the %s queue (%s); `raprov dlq replay %s` sends it back\n",
			safe(rec.RequestID), safe(rec.Queue), safe(latest.Reason), safe(rec.DeadLetterID))
	default:
		fmt.Fprintf(out, "%s: in progress, waiting in the %s queue\n", safe(rec.RequestID), safe(rec.Queue))
	}
	for _, d := range rec.DeadLetters {
		if d.ID != rec.DeadLetterID {
			fmt.Fprintf(out, "dead letter %s: a %s event dead-lettered from the %s queue (%s)\n", safe(d.ID), safe(d.Type), safe(d.Queue), safe(d.Reason))
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTEP\tEVENT\tATTEMPT\tREASON\tDETAIL\t")
	for _, e := range rec.History {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", e.Time.Format(time.RFC3339Nano), safe(e.Step), safe(e.Type), e.Attempt, safe(e.Reason), safe(e.Detail))
	}
	return tw.Flush()
}

// statusList reads the counts of all requests, where those in progress
// wait, and the requests f selects.
func statusList(ctx context.Context, loc *locator, f ledger.Filter) (statusSummaryRecord, error) {
	sum, err := loc.ledger.Summary(ctx)
	if err != nil {
		return statusSummaryRecord{}, err
	}
	rec := statusSummaryRecord{
		Total: sum.Total, Completed: sum.ByOutcome[ledger.Completed], Failed: sum.ByOutcome[ledger.Failed], InProgress: sum.ByOutcome[ledger.InProgress],
		FailedByReason: map[string]int{}, WaitingIn: map[string]int{}, DeadLetteredFrom: map[string]int{}, Requests: []statusRecord{},
	}
	for k, v := range sum.FailedByReason {
		rec.FailedByReason[k] = v
	}
	pending, err := loc.ledger.List(ctx, ledger.Filter{Outcome: ledger.InProgress, Limit: 1 << 30})
	if err != nil {
		return statusSummaryRecord{}, err
	}
	for _, st := range pending {
		w, err := loc.where(ctx, st)
		if err != nil {
			return statusSummaryRecord{}, err
		}
		if w.dead != nil {
			rec.DeadLetteredFrom[w.queue]++
		} else {
			rec.WaitingIn[w.queue]++
		}
	}
	sts, err := loc.ledger.List(ctx, f)
	if err != nil {
		return statusSummaryRecord{}, err
	}
	for _, st := range sts {
		w, err := loc.where(ctx, st)
		if err != nil {
			return statusSummaryRecord{}, err
		}
		rec.Requests = append(rec.Requests, statusRecordOf(st, w))
	}
	return rec, nil
}

// printStatusList prints the counts, where requests wait, and the list.
func printStatusList(out io.Writer, rec statusSummaryRecord) error {
	fmt.Fprintf(out, "%d requests: %d completed, %d failed, %d in progress\n", rec.Total, rec.Completed, rec.Failed, rec.InProgress)
	for _, kv := range sorted(rec.FailedByReason) {
		fmt.Fprintf(out, "  failed %-28s %d\n", safe(kv.k), kv.v)
	}
	for _, kv := range sorted(rec.WaitingIn) {
		fmt.Fprintf(out, "  waiting in %-24s %d\n", safe(kv.k), kv.v)
	}
	for _, kv := range sorted(rec.DeadLetteredFrom) {
		fmt.Fprintf(out, "  dead-lettered from %-16s %d\n", safe(kv.k), kv.v)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tOUTCOME\tQUEUE\tREASON\tUPDATED\t")
	for _, st := range rec.Requests {
		queue := "-"
		switch {
		case st.DeadLetterID != "":
			queue = st.Queue + " (dead letter)"
		case st.Queue != "":
			queue = st.Queue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", safe(st.RequestID), safe(st.Outcome), safe(queue), safe(st.Reason), st.Updated.Format(time.RFC3339))
	}
	return tw.Flush()
}

// statusRecordOf is st's record, where it is included; no history.
func statusRecordOf(st ledger.Status, w whereabouts) statusRecord {
	rec := statusRecord{
		RequestID: st.RequestID, Outcome: outcomeOf(st.Outcome), Step: st.Step, Type: st.Type, Reason: st.Reason, Detail: st.Detail,
		Attempt: st.Attempt, Started: st.Started.UTC(), Updated: st.Updated.UTC(), Queue: w.queue,
		Account: st.Account, ObjectID: st.ObjectID, Action: st.Action,
	}
	if w.dead != nil {
		rec.DeadLetterID = w.dead.ID
	}
	return rec
}

// outcomeOf names an outcome; a ledger entry without one is in progress.
func outcomeOf(o ledger.Outcome) string {
	if o == "" {
		return string(ledger.InProgress)
	}
	return string(o)
}

// locator finds where requests in progress are: the queue their latest
// event was published to, or the dead-letter queue it was moved to.
type locator struct {
	ledger ledger.Ledger
	// dead holds the dead letters that decode, by request id.
	dead map[string][]*deadLetter
}

// deadLetter is a dead letter and the event it holds.
type deadLetter struct {
	transport.DeadLetter
	event events.Event
}

// newLocator reads the host's dead letters.
func newLocator(ctx context.Context, ops opsHost) (*locator, error) {
	// The store has no look-up of dead letters by request or event, so
	// read them all: the dead-letter queue is short, or an operator's
	// first concern.
	dls, err := ops.DeadLetters().List(ctx, "", 1<<30)
	if err != nil {
		return nil, err
	}
	loc := &locator{ledger: ops.Ledger(), dead: map[string][]*deadLetter{}}
	for _, d := range dls {
		ev, err := events.Decode(d.Body)
		if err != nil || ev.Subject == "" {
			continue // poison: it names no request for sure
		}
		loc.dead[ev.Subject] = append(loc.dead[ev.Subject], &deadLetter{DeadLetter: d, event: ev})
	}
	return loc, nil
}

// whereabouts is where a request in progress is.
type whereabouts struct {
	// queue is the queue its latest event was published to; "" when the
	// request has ended.
	queue string
	// dead is the dead letter holding its latest event, if that event was
	// dead-lettered from queue.
	dead *deadLetter
}

// where finds where st's request is. The ledger's latest entry names the
// latest event published for the request and the step that published it;
// the event waits in the queue of the step that consumes its type, unless
// it was dead-lettered there.
func (loc *locator) where(ctx context.Context, st ledger.Status) (whereabouts, error) {
	if st.Outcome != ledger.InProgress {
		return whereabouts{}, nil
	}
	w := whereabouts{queue: queueOf(st.Type)}
	dls := loc.dead[st.RequestID]
	if len(dls) == 0 {
		return w, nil
	}
	if st.History == nil {
		full, err := loc.ledger.Get(ctx, st.RequestID)
		if err != nil {
			return w, err
		}
		st = full
	}
	if len(st.History) == 0 {
		return w, nil
	}
	latest := st.History[len(st.History)-1]
	for _, d := range dls {
		if d.event.ID == latest.EventID {
			w.queue, w.dead = d.Queue, d
		}
	}
	return w, nil
}

// queueOf returns the queue an event of type typ that did not end its
// request is published to: its consumer's (events.Destination). The
// ledger's step is not the queue: it is the step that published the
// event, and a retry recorded by complete goes back to complete's queue,
// not to the results that events.Destination names for complete's output.
func queueOf(typ string) string {
	if c := events.ConsumerOf(typ); c != "" {
		return c
	}
	return events.Results
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
