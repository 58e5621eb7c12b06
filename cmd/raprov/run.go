package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/examples"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/deprovision"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/requestfile"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

type runFlags struct {
	fresh      bool
	serve      bool
	timeout    time.Duration
	progress   string
	addLicense time.Duration
	seedUnits  int
	demoTiming bool
	// listen, with serve, is the address of the HTTP doors (raprov serve).
	listen string
	// watch, with serve, is the folder of scheduled bulk files, polled
	// every watchEvery.
	watch      string
	watchEvery time.Duration
	// allowDeprovisionRows lets the watched folder's files remove accounts
	// (RAPROV_ALLOW_DEPROVISION_ROWS).
	allowDeprovisionRows bool
	// dryRun plans FILE against the tenant with reads only (dryrun.go).
	dryRun bool
	// output is -o: the final table, or JSON records (records.go).
	output outputFormat
	// diag receives messages and progress when output is JSON (the
	// command's stderr; os.Stderr when nil).
	diag io.Writer
	// rows, when set, are the requests to run instead of a file's, named
	// rowsName in messages (raprov deprovision).
	rows     []requestfile.Row
	rowsName string
}

func newRunCmd() *cobra.Command {
	s, err := loadSettings()
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [FILE]",
		Short: "Run the provisioning chain on the embedded default and provision FILE (default: the bundled example)",
		Long: `run starts every step on the durable local queue, submits the requests of FILE
(CSV or JSON lines; the bundled example when FILE is omitted), shows progress
and ends with a table of outcomes, or with one JSON record per request
(-o json, -o jsonl; docs/cli.md). It exits 0 only when every request reached
the outcome its row expects (the expect column; "completed" when absent), 1
when one did not or a row could not be read.

Without --graph-url and RAPROV_GRAPH_TENANT_ID it starts the Microsoft Graph
simulator in process. Killed at any moment, a new run on the same database
resumes where the last one stopped; requests already submitted are not
submitted twice.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err != nil {
				return err
			}
			f.diag = cmd.ErrOrStderr()
			return runChain(cmd.Context(), s, f, args, cmd.OutOrStdout())
		},
	}
	s.bindChain(cmd)
	addOutputFlag(cmd, &f.output)
	fl := cmd.Flags()
	fl.BoolVar(&f.fresh, "fresh", false, "delete the database first (a new demo)")
	fl.BoolVar(&f.serve, "serve", false, "submit nothing and run until interrupted")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up waiting for outcomes after this long")
	fl.StringVar(&f.progress, "progress", "auto", "progress display: auto (bar on a terminal), bar, lines, none")
	fl.DurationVar(&f.addLicense, "demo-add-licenses-after", 3*time.Second, "in-process simulator only: add licenses this long after the start, ending the license shortage")
	fl.IntVar(&f.seedUnits, "demo-free-licenses", 16, "in-process simulator only: free resource-account licenses at the start (-1: the seed's)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "read the tenant and print what each request would create, assign or fail on; write nothing (docs/dry-run.md)")
	fl.BoolVar(&f.demoTiming, "demo-timing", false, "simulator only: the in-process demo's short step delays (retries, license re-checks, number polls), for a simulator at --graph-url with scaled-down delays")
	return cmd
}

// tracked is a submitted request the run waits for.
type tracked struct {
	row    requestfile.Row
	id     string
	status ledger.Status
	done   bool
	// refused: not submitted, its id being another request's
	// (request_conflict); it has no final event.
	refused bool
}

// runChain is `raprov run` (and `raprov serve`): it runs the chain on the
// embedded default and, unless it serves, provisions the file of args.
// The table or the JSON records go to out; with JSON, messages and
// progress go to f.diag.
func runChain(ctx context.Context, s settings, f runFlags, args []string, out io.Writer) error {
	if f.dryRun {
		return dryRun(ctx, s, f, args, out)
	}
	msgs := f.output.messages(out, f.diag)
	if f.fresh {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(s.DB + suffix); err != nil && !os.IsNotExist(err) {
				return unreachableError(err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(s.DB), 0o755); err != nil {
		return unreachableError(err)
	}
	log, closer, err := s.logger()
	if err != nil {
		return err
	}
	defer closer.Close()
	shutdownTracing, err := setupTracing(ctx, log)
	if err != nil {
		return configError(err)
	}
	defer shutdownTracing(context.WithoutCancel(ctx))

	var rows []requestfile.Row
	var badRows []requestfile.RowError
	var name string
	switch {
	case f.rows != nil:
		name, rows = f.rowsName, f.rows
	case !f.serve:
		name, rows, badRows, err = readRequests(args, s.AllowDeprovisionRows)
		if err != nil {
			return err
		}
		for _, e := range badRows {
			fmt.Fprintf(msgs, "%s: %s\n", safe(name), safe(e.Error()))
		}
		fmt.Fprintf(msgs, "raprov: %d requests from %s\n", len(rows), safe(name))
	}

	m, err := connectConfigured(s, log)
	if err != nil {
		return configError(err)
	}
	if m != nil && f.demoTiming {
		if !m.simulated {
			m.Close()
			return usageError(fmt.Errorf("--demo-timing needs a simulator (--graph-url), not Microsoft"))
		}
		s.Steps = demoTiming(s.Steps)
	}
	if m == nil {
		m, err = startSimulator(ctx, demoSimulator(f), log)
		if err != nil {
			return err
		}
		s.Steps = demoTiming(s.Steps)
		fmt.Fprintf(msgs, "raprov: Microsoft Graph simulator at %s (in process)\n", m.sim.URL)
	}
	defer m.Close()

	store, err := local.Open(ctx, s.DB, local.Options{Logger: log})
	if err != nil {
		return unreachableError(err)
	}
	defer store.Close()
	chain, err := newChain(store, m, s, log)
	if err != nil {
		return configError(err)
	}
	if f.rows == nil && s.AllowDeprovisionRows {
		// A deprovision row whose target's account another request took
		// over is refused as the other doors refuse it.
		var refused []requestfile.RowError
		if rows, refused, err = deprovision.RefuseTakenOver(ctx, store.Ledger(), rows, nil); err != nil {
			return unreachableError(err)
		}
		for _, e := range refused {
			fmt.Fprintf(msgs, "%s: %s\n", safe(name), safe(e.Error()))
		}
		badRows = append(badRows, refused...)
		slices.SortStableFunc(badRows, func(a, b requestfile.RowError) int { return cmp.Compare(a.Line, b.Line) })
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- chain.Run(runCtx) }()
	var fin *finals // what JSON records need of the final events
	if f.output.machine() && !f.serve {
		fin = newFinals()
	}
	go drainResults(runCtx, chain.Queue(events.Results), fin)
	defer func() {
		stop()
		if err := <-done; err != nil {
			log.Warn("shutdown", "error", err.Error())
		}
	}()

	if f.serve {
		if f.watch != "" {
			f.allowDeprovisionRows = s.AllowDeprovisionRows
			if err := watchFolder(runCtx, f, chainSubmitter(chain), store.Ledger(), log, msgs); err != nil {
				return err
			}
		}
		if f.listen != "" {
			return serveHTTP(ctx, s, m, f.listen, chain, localOps{store: store, db: s.DB}, store, log, msgs)
		}
		fmt.Fprintln(msgs, "raprov: serving; Ctrl-C stops")
		<-ctx.Done()
		return nil
	}
	if m.sim != nil && f.addLicense > 0 {
		go func() {
			select {
			case <-time.After(f.addLicense):
				if err := m.sim.Server.AddLicenses(graphsim.VirtualUserSkuPartNumber, 10); err == nil {
					log.Info("simulator: added licenses", "sku", graphsim.VirtualUserSkuPartNumber, "units", 10)
				}
			case <-runCtx.Done():
			}
		}()
	}

	reqs := make([]*tracked, len(rows))
	batch := make([]events.Request, len(rows))
	for i, r := range rows {
		// The id as submitted: trimmed by the parser as intake trims it,
		// or stableID's, so that it is the id the ledger records.
		reqs[i] = &tracked{row: r, id: r.Request.RequestID}
		batch[i] = r.Request
	}
	subs, err := chain.Submit(ctx, "", batch...)
	if err != nil {
		return err
	}
	refuseConflicts(reqs, subs, name, msgs)
	start := time.Now()
	if err := wait(ctx, store.Ledger(), reqs, f, msgs); err != nil {
		return err
	}
	ok := true
	if f.output.machine() {
		fin.await(ctx, reqs, finalsGrace)
		if err := writeList(out, f.output, runRecords(reqs, badRows, fin, os.Getenv("RAPROV_GRAPH_TENANT_ID"))); err != nil {
			return err
		}
		for _, r := range reqs {
			ok = ok && r.asExpected()
		}
	} else {
		ok = printTable(out, reqs, time.Since(start))
	}
	if !ok || len(badRows) > 0 {
		return exitCode(1)
	}
	return nil
}

// refuseConflicts settles the requests whose id was already used for a
// different request: they were not submitted, and fail with
// request_conflict without waiting (the first request's status is its own).
func refuseConflicts(reqs []*tracked, subs []submission.Submitted, file string, out io.Writer) {
	for i, s := range subs {
		if s.Outcome != submission.Conflict {
			continue
		}
		r := reqs[i]
		now := time.Now()
		r.status = ledger.Status{
			RequestID: r.id, Outcome: ledger.Failed, Reason: string(events.ReasonRequestConflict),
			Detail:  "requestId was already used for a different request; submit this one under a new requestId",
			Started: now, Updated: now,
		}
		r.done, r.refused = true, true
		reportConflict(out, file, r.row.Line, r.id)
	}
}

// reportConflict prints the line of a request refused at submission because
// its id was already used for a different request.
func reportConflict(out io.Writer, file string, line int, requestID string) {
	fmt.Fprintf(out, "%s: line %d: requestId %q was already used for a different request: refused (request_conflict)\n", safe(file), line, requestID)
}

// openInput opens the request file named by args ("-" for stdin), or the
// bundled example. Files are read as they stream, whatever their size. A
// file that cannot be opened is a usage error (exit 2).
func openInput(args []string) (string, io.ReadCloser, error) {
	if len(args) == 0 || args[0] == "" {
		return "examples/requests.csv (bundled)", io.NopCloser(bytes.NewReader(examples.RequestsCSV)), nil
	}
	if args[0] == "-" {
		return "stdin", io.NopCloser(os.Stdin), nil
	}
	fh, err := os.Open(args[0])
	if err != nil {
		return "", nil, usageError(err)
	}
	return args[0], fh, nil
}

// readRequests reads the request file named by args (see openInput) and
// readies its rows for submission: a row without requestId gets
// stableID's, and a row whose provisioning.requested event would be larger
// than the codec allows is refused like a row that cannot be read, so that
// it alone is not submitted. It returns the file's name for messages, the
// rows to submit and the rows refused, both in line order. A file that
// cannot be read at all is a usage error (exit 2); bad rows are not.
func readRequests(args []string, allowDeprovision bool) (string, []requestfile.Row, []requestfile.RowError, error) {
	name, rc, err := openInput(args)
	if err != nil {
		return "", nil, nil, err
	}
	defer rc.Close()
	rows, bad, err := requestfile.Parse(rc)
	if err != nil {
		return name, nil, nil, usageError(fmt.Errorf("%s: %w", safe(name), err))
	}
	kept := rows[:0]
	for _, r := range rows {
		if r.Request.RequestID == "" {
			r.Request.RequestID = stableID(r.Request)
		}
		if err := submission.Fits(r.Request); err != nil {
			bad = append(bad, requestfile.RowError{Line: r.Line, Err: err})
			continue
		}
		kept = append(kept, r)
	}
	slices.SortStableFunc(bad, func(a, b requestfile.RowError) int { return cmp.Compare(a.Line, b.Line) })
	if !allowDeprovision {
		kept, bad = requestfile.OnlyProvisioning(kept, bad)
	}
	return name, kept, bad, nil
}

// stableID derives a request id from the request's content, so submitting
// the same file again (after a crash, say) names the same requests.
func stableID(r events.Request) string {
	h := sha256.New()
	for _, v := range []string{r.UserPrincipalName, r.DisplayName, r.AccountType, r.UsageLocation, r.PhoneNumber, r.NumberType, r.AssociateWith, r.CallbackURL} {
		h.Write([]byte(strings.ToLower(strings.TrimSpace(v))))
		h.Write([]byte{0})
	}
	// A deprovision row differs from a provisioning row with the same
	// columns; provisioning rows keep the ids they always had.
	if r.Deprovision() {
		for _, v := range []string{r.Action, r.Target} {
			h.Write([]byte(strings.TrimSpace(v)))
			h.Write([]byte{0})
		}
	}
	return "req-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// demoSimulator is the in-process simulator of `raprov run`: the default
// tenant with Microsoft's delays scaled down, throttling on, and fewer free
// licenses than the example needs until more are added during the run.
func demoSimulator(f runFlags) graphsim.Config {
	seed := graphsim.DefaultSeed()
	if f.seedUnits >= 0 {
		seed.SetFreeUnits(graphsim.VirtualUserSkuPartNumber, f.seedUnits)
	}
	return graphsim.Config{
		Seed: seed,
		Knobs: graphsim.Knobs{
			ReplicationDelay:   400 * time.Millisecond,
			OperationStepDelay: 150 * time.Millisecond,
			Throttle:           true,
			TimeScale:          1,
		},
	}
}

// drainResults acknowledges the final events published to the results
// queue, keeping what fin needs of them (fin may be nil); the ledger
// already holds the outcome.
func drainResults(ctx context.Context, q *local.Queue, fin *finals) {
	_ = local.Consume(ctx, q, local.ConsumeOptions{Concurrency: 1}, func(ctx context.Context, d transport.Delivery) error {
		if ev, err := events.Decode(d.Body); err == nil {
			fin.add(ev)
		}
		return q.Delete(ctx, d.ID)
	})
}

// wait polls the ledger until every request has an outcome.
func wait(ctx context.Context, l ledger.Ledger, reqs []*tracked, f runFlags, out io.Writer) error {
	p := newProgress(out, len(reqs), f.progress)
	defer p.finish()
	deadline := time.Now().Add(f.timeout)
	byID := make(map[string]*tracked, len(reqs))
	for _, r := range reqs {
		byID[r.id] = r
	}
	remaining := 0
	for _, r := range reqs {
		if r.done {
			p.add(r) // settled at submission (request_conflict)
		} else {
			remaining++
		}
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for remaining > 0 {
		for _, outcome := range []ledger.Outcome{ledger.Completed, ledger.Failed} {
			sts, err := l.List(ctx, ledger.Filter{Outcome: outcome, Limit: 1 << 30})
			if err != nil {
				return err
			}
			for _, st := range sts {
				r, ok := byID[st.RequestID]
				if !ok || r.done {
					continue
				}
				r.status, r.done = st, true
				remaining--
				p.add(r)
			}
		}
		if remaining == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d requests still in progress after %s (see raprov status)", remaining, f.timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].row.Line < reqs[j].row.Line })
	return nil
}
